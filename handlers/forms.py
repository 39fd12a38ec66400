"""Opening the forms (modals): `/convoy pause|resume` alone, the message shortcut and Deny.

A form opens at once, in the listener (its trigger id lives 3 s). The pause and resume form
shows "Loading…" and is filled in after the ack, once the caller's role (and, for the
shortcut, the endpoint the message names) is known. It acts in the project a command in its
channel would, and keeps that project, the channel and the response URL in its private
metadata: a submission carries none of them (handlers.modals reads them back).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import Verb
from bot.change.model import Caller
from bot.commands.suggesting import Suggesting
from bot.errors import BotError, InvalidInput
from bot.metrics import Metrics
from bot.models import Action
from bot.project import Project
from bot.slack_client import SlackCalls
from handlers.blocks.modals import (
    View,
    change_view,
    deny_form_not_opened,
    deny_view,
    form_not_opened,
    loading_view,
    refusal_view,
)
from handlers.blocks.reads import error_message
from handlers.buttons import ChangeForm, DenyForm
from handlers.outcomes import Reporter
from handlers.parsing import slack_unescape
from handlers.replies import Replies
from handlers.runtime import ProjectRuntime, Runtimes
from handlers.work import Worker

logger = logging.getLogger(__name__)

OPEN_WITHIN = 2.0  # seconds: a trigger id lives 3 s, and the ack waits for this call
_FORM_COMMAND = re.compile(r"^\s*(pause|resume)\s*$", re.IGNORECASE)


def is_form_command(text: str) -> bool:
    """`/convoy pause` or `/convoy resume` with nothing after it (a project aside)."""
    return _FORM_COMMAND.match(slack_unescape(text)) is not None


async def runtime_of(runtimes: Runtimes, scope: str) -> ProjectRuntime:
    """The project a form or its menu acts in ("" on forms from before several projects)."""
    runtime = await (runtimes.for_scope(scope) if scope else runtimes.legacy())
    if runtime is None:
        raise InvalidInput("This form's project is not served by this bot any more.")
    return runtime


@dataclass(frozen=True)
class Opened:
    """A view Slack opened (its id and hash, to fill it in), or Slack's error."""

    view_id: str = ""
    hash: str = ""
    error: str = ""


class Views:
    """Opens and fills one person's form, counted like the bot's posts."""

    def __init__(self, client: AsyncWebClient, metrics: Metrics) -> None:
        self._calls = SlackCalls(client, metrics)  # the request's own client

    async def open(self, trigger_id: str, view: View) -> Opened:
        calls = self._calls
        try:
            async with asyncio.timeout(OPEN_WITHIN):
                answer = await calls.call(
                    "view", calls.slack.views_open, trigger_id=trigger_id, view=view
                )
        except TimeoutError:  # the trigger is spent by now: said like Slack's own refusal
            return Opened(error="TimeoutError")
        if not answer.ok:
            return Opened(error=answer.error)
        opened = answer.data.get("view") or {}
        return Opened(str(opened.get("id", "")), str(opened.get("hash", "")))

    async def update(self, opened: Opened, view: View) -> None:
        """Fill the form in; if it was closed meanwhile there is nothing to fill."""
        calls = self._calls
        await calls.call(
            "view", calls.slack.views_update, view_id=opened.view_id, hash=opened.hash, view=view
        )


class ProjectPlace(Protocol):
    """Which project a command in a channel acts on (handlers.commands.Commands)."""

    async def project_for(self, user_id: str, channel_id: str, named: str) -> Project: ...


class Forms:
    """The pause and resume form: opened at once, filled in after the ack."""

    def __init__(
        self,
        worker: Worker,
        runtimes: Runtimes,
        metrics: Metrics,
        max_pause: timedelta,
        place: ProjectPlace,
    ) -> None:
        self._worker = worker
        self._runtimes = runtimes
        self._metrics = metrics
        self.max_pause = max_pause
        self._place = place

    async def for_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        *,
        text: str,
        named: str,
    ) -> bool:
        """`/convoy pause` or `/convoy resume` with nothing after it (`text`, the project
        `named` taken out) opens the form; whether it did (any other text is the command's)."""
        found = _FORM_COMMAND.match(slack_unescape(text))
        if found is None:
            return False
        await ack()
        caller = Caller(
            str(command.get("user_id", "")),
            str(command.get("channel_id", "")),
            str(command.get("trigger_id", "")),
        )
        action = Action(found.group(1).lower())
        response_url = str(command.get("response_url", ""))
        await self.open(
            caller, action, named=named, response_url=response_url, respond=respond, client=client
        )
        return True

    async def open(
        self,
        caller: Caller,
        action: Action,
        *,
        named: str = "",
        response_url: str,
        respond: AsyncRespond,
        client: AsyncWebClient,
        message: str = "",
    ) -> None:
        """Open the form now, in the project a command here acts on; fill it in (or say why
        it cannot be used) after the ack."""
        replies = self._worker.replies(respond, client, caller.channel_id)
        views = Views(client, self._metrics)
        try:
            project = await self._place.project_for(caller.user_id, caller.channel_id, named)
            form = ChangeForm.of(
                action=action,
                channel=caller.channel_id,
                response_url=response_url,
                project=project.scope,
            )
        except BotError as exc:
            self._worker.spawn("form", replies, _refused(replies, exc), caller.user_id)
            return
        opened = await views.open(caller.trigger, loading_view(action, form.encode()))
        filled = self._fill(replies, views, opened, caller=caller, form=form, message=message)
        self._worker.spawn("form", replies, filled, caller.user_id)

    async def _fill(
        self,
        replies: Replies,
        views: Views,
        opened: Opened,
        *,
        caller: Caller,
        form: ChangeForm,
        message: str,
    ) -> str:
        if opened.error:
            await replies.private(form_not_opened(form.action, opened.error))
            return "not opened"
        try:
            runtime = await runtime_of(self._runtimes, form.project)
            suggesting = runtime.get(Suggesting)
            await suggesting.may_ask(caller.user_id, Verb(form.action.value))
            named = await suggesting.named_in(message) if message else None
        except BotError as exc:
            await views.update(opened, refusal_view(form.action, error_message(exc)))
            return type(exc).__name__
        note = "That message names no endpoint I could find; pick one." if message else ""
        view = change_view(
            form.action,
            form.encode(),
            max_pause=self.max_pause,
            selected=named,
            note="" if named else note,
            project=runtime.project.alias if runtime.get(Reporter).several else "",
        )
        await views.update(opened, view)
        return "opened"

    async def open_deny(
        self,
        caller: Caller,
        request_id: str,
        *,
        project: str,
        response_url: str,
        message_ts: str,
        story: str,
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        """Deny's form, opened now: nothing is claimed until it is sent, so a form closed
        unsent blocks nobody."""
        replies = self._worker.replies(respond, client, caller.channel_id)
        try:
            form = DenyForm.of(
                request_id=request_id,
                project=project,
                channel=caller.channel_id,
                response_url=response_url,
                message_ts=message_ts,
            )
        except InvalidInput as exc:
            self._worker.spawn("deny form", replies, _refused(replies, exc), caller.user_id)
            return
        view = deny_view(form.encode(), story)
        opened = await Views(client, self._metrics).open(caller.trigger, view)
        if opened.error:
            self._worker.spawn(
                "deny form", replies, _not_opened(replies, opened.error), caller.user_id
            )


async def _not_opened(replies: Replies, error: str) -> str:
    await replies.private(deny_form_not_opened(error))
    return "not opened"


async def _refused(replies: Replies, error: BotError) -> str:
    await replies.private(error_message(error))
    return "invalid"
