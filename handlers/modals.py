"""The forms (modals): `/convoy pause|resume` alone and the message shortcut "Pause a Convoy
endpoint" open the pause or resume form, and Deny opens a form for its reason; the endpoint
menu's options; the forms' submissions.

A form opens at once, in the listener (its trigger id lives 3 s). The pause and resume form
shows "Loading…" and is filled in after the ack, once the caller's role (and, for the
shortcut, the endpoint the message names) is known. Submitting runs the same use case as the
command or the click, with the same checks, and reports the same way: privately through the
response URL of the command, shortcut or click that opened the form, and in its channel. A
submission carries neither, so the form keeps them in its private metadata.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Protocol

from aiohttp import ClientError
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Verb
from bot.changes import Caller
from bot.durations import describe, parse_duration
from bot.errors import BotError, InvalidInput
from bot.logs import describe_failure
from bot.metrics import Metrics
from bot.models import Action
from bot.projects import Project
from handlers import ids
from handlers.blocks.changes import working_note
from handlers.blocks.kit import cut
from handlers.blocks.modals import (
    View,
    change_view,
    deny_form_not_opened,
    deny_view,
    endpoint_options,
    form_not_opened,
    loading_view,
    option_name,
    refusal_view,
)
from handlers.blocks.reads import error_message
from handlers.buttons import ChangeForm, DenyForm
from handlers.parsing import slack_unescape
from handlers.replies import Replies
from handlers.runtime import ProjectRuntime, Runtimes
from handlers.work import Worker

logger = logging.getLogger(__name__)

OPEN_WITHIN = 2.0  # seconds: a trigger id lives 3 s, and the ack waits for this call
_FORM_COMMAND = re.compile(r"^\s*(pause|resume)\s*$", re.IGNORECASE)


def register(app: AsyncApp, worker: Worker, *, runtimes: Runtimes, forms: Forms) -> None:
    """Wire the endpoint menu, the two forms' submissions and the message shortcut; each acts
    in the project its form names."""
    app.options(ids.ENDPOINT_MENU)(partial(offer_endpoints, runtimes=runtimes))
    app.view(ids.CHANGE_FORM)(
        partial(change_submitted, worker=worker, runtimes=runtimes, max_pause=forms.max_pause)
    )
    app.view(ids.DENY_FORM)(partial(deny_submitted, worker=worker, runtimes=runtimes))
    app.shortcut(ids.PAUSE_SHORTCUT)(partial(pause_shortcut, forms=forms))


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
        self._client = client
        self._metrics = metrics

    async def open(self, trigger_id: str, view: View) -> Opened:
        try:
            async with asyncio.timeout(OPEN_WITHIN):
                response = await self._client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
        except (ClientError, TimeoutError) as exc:
            error = type(exc).__name__
        else:
            self._metrics.slack_posts.labels("view", "ok").inc()
            opened = response.get("view") or {}
            return Opened(str(opened.get("id", "")), str(opened.get("hash", "")))
        self._metrics.slack_posts.labels("view", "failed").inc()
        logger.warning("views.open failed: %s", error)
        return Opened(error=error)

    async def update(self, opened: Opened, view: View) -> None:
        """Fill the form in; if it was closed meanwhile there is nothing to fill."""
        try:
            await self._client.views_update(view_id=opened.view_id, hash=opened.hash, view=view)
            self._metrics.slack_posts.labels("view", "ok").inc()
        except (SlackApiError, ClientError, TimeoutError) as exc:
            self._metrics.slack_posts.labels("view", "failed").inc()
            logger.warning("views.update failed: %s", describe_failure(exc))


class ProjectPlace(Protocol):
    """Which project a command in a channel acts on (handlers.commands.Commands)."""

    async def project_for(self, channel_id: str, named: str) -> Project: ...


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
            project = await self._place.project_for(caller.channel_id, named)
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
            suggesting = runtime.cases.suggesting
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
            project=runtime.project.alias if runtime.reporter.several else "",
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


async def pause_shortcut(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    forms: Forms,
) -> None:
    """The shortcut "Pause a Convoy endpoint" on a message: the pause form, with the endpoint
    the message names already chosen."""
    await ack()
    caller = Caller(
        str((body.get("user") or {}).get("id", "")),
        str((body.get("channel") or {}).get("id", "")),
        str(body.get("trigger_id", "")),
    )
    message = body.get("message") or {}
    text = _message_text(message if isinstance(message, dict) else {})
    await forms.open(
        caller,
        Action.PAUSE,
        response_url=str(body.get("response_url", "")),
        respond=respond,
        client=client,
        message=text,
    )


def _message_text(message: dict[str, Any]) -> str:
    """What a message says: its text and its blocks' texts, as people read them."""
    texts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        if isinstance(block, dict) and isinstance(block.get("text"), dict):
            texts.append(str(block["text"].get("text", "")))
    return slack_unescape("\n".join(texts))


async def offer_endpoints(ack: AsyncAck, body: dict[str, Any], runtimes: Runtimes) -> None:
    """The endpoint menu's options for what the user typed, in the form's project: answered
    within Slack's 3 s, with what Convoy gave in time, or none; never an error."""
    user_id = str((body.get("user") or {}).get("id", ""))
    scope = ""
    with contextlib.suppress(InvalidInput):  # a menu outside a form of ours: the old default
        scope = ChangeForm.decode(str((body.get("view") or {}).get("private_metadata"))).project
    try:
        runtime = await runtime_of(runtimes, scope)
        endpoints = await runtime.cases.suggesting.suggest(user_id, str(body.get("value", "")))
    except BotError:
        endpoints = []  # a caller who may not list endpoints, or no store: nothing to offer
    await ack(options=endpoint_options(endpoints))


@dataclass(frozen=True)
class ChangeAnswers:
    """A submitted pause or resume form, read and checked."""

    form: ChangeForm
    uid: str
    label: str
    reason: str
    duration: timedelta | None


def read_change_form(view: dict[str, Any], max_pause: timedelta) -> ChangeAnswers | dict[str, str]:
    """The answers, or what to say beside each field that cannot be used (Slack shows it
    there, and the form stays open)."""
    try:
        form = ChangeForm.decode(str(view.get("private_metadata", "")))
    except InvalidInput as exc:
        return {ids.ENDPOINT_BLOCK: exc.message}
    values = (view.get("state") or {}).get("values") or {}
    option = _answer(values, ids.ENDPOINT_BLOCK, ids.ENDPOINT_MENU).get("selected_option") or {}
    uid = str(option.get("value") or "")
    if not uid:
        return {ids.ENDPOINT_BLOCK: "Pick the endpoint."}
    label = option_name(str((option.get("text") or {}).get("text") or uid))
    typed = _typed(values, ids.DURATION_BLOCK, ids.DURATION_INPUT)
    duration = None
    if typed and form.action is Action.PAUSE:
        duration = parse_duration(typed)
        if duration is None:
            return {
                ids.DURATION_BLOCK: (
                    f'"{cut(typed, 20)}" is not a duration I understand. '
                    "Durations look like 30m, 30 minutes, 1h or 1h30m."
                )
            }
        if duration > max_pause:
            return {ids.DURATION_BLOCK: f"A timed pause can last at most {describe(max_pause)}."}
    reason = _typed(values, ids.REASON_BLOCK, ids.REASON_INPUT)
    return ChangeAnswers(form, uid, label, reason, duration)


def _answer(values: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    answer = (values.get(block_id) or {}).get(action_id)
    return answer if isinstance(answer, dict) else {}


def _typed(values: dict[str, Any], block_id: str, action_id: str) -> str:
    return str(_answer(values, block_id, action_id).get("value") or "").strip()


def _submitter(body: dict[str, Any], channel: str) -> Caller:
    return Caller(
        str((body.get("user") or {}).get("id", "")), channel, str(body.get("trigger_id", ""))
    )


async def change_submitted(  # noqa: PLR0917  # Bolt passes its own arguments by name
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    worker: Worker,
    runtimes: Runtimes,
    max_pause: timedelta,
) -> None:
    """The pause or resume form, sent: the same use case as the command, after the ack."""
    answers = read_change_form(body.get("view") or {}, max_pause)
    if isinstance(answers, dict):
        await ack(response_action="errors", errors=answers)
        return
    await ack()
    form = answers.form
    replies = worker.replies(AsyncRespond(response_url=form.response_url), client, form.channel)
    caller = _submitter(body, form.channel)
    work = run_change_form(replies, caller, answers, runtimes)
    worker.spawn(form.action.value, replies, work, caller.user_id)


async def run_change_form(
    replies: Replies, caller: Caller, answers: ChangeAnswers, runtimes: Runtimes
) -> str:
    action = answers.form.action
    runtime = await runtime_of(runtimes, answers.form.project)
    await replies.private(working_note(action.value, answers.label))
    result = await runtime.cases.changing.change(
        caller, action, answers.uid, answers.reason, answers.duration
    )
    return await runtime.reporter.report(replies, result, caller.user_id, answers.reason)


async def deny_submitted(  # Bolt passes its own arguments by name
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    worker: Worker,
    runtimes: Runtimes,
) -> None:
    """Deny's form, sent: the request is claimed and denied now, with the reason given."""
    view = body.get("view") or {}
    try:
        form = DenyForm.decode(str(view.get("private_metadata", "")))
    except InvalidInput as exc:
        await ack(response_action="errors", errors={ids.REASON_BLOCK: exc.message})
        return
    await ack()
    reason = _typed(
        (view.get("state") or {}).get("values") or {}, ids.REASON_BLOCK, ids.REASON_INPUT
    )
    replies = worker.replies(AsyncRespond(response_url=form.response_url), client, form.channel)
    caller = _submitter(body, form.channel)
    worker.spawn("deny", replies, run_deny(replies, caller, form, reason, runtimes), caller.user_id)


async def run_deny(
    replies: Replies, caller: Caller, form: DenyForm, reason: str, runtimes: Runtimes
) -> str:
    runtime = await runtime_of(runtimes, form.project)
    deciding = runtime.cases.deciding
    decision = await deciding.decide(caller, form.request_id, approve=False, reason=reason)
    return await runtime.reporter.decision(replies, decision, form.message_ts)
