"""The forms' listeners: the endpoint menu's options, the two forms' submissions, and the
message shortcut (the forms themselves open in handlers.forms).

Submitting runs the same use case as the command or the click, with the same checks, in the
form's project, and reports the same way: privately through the response URL of the command,
shortcut or click that opened the form, and in its channel.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.deciding import Deciding
from bot.change.model import Caller
from bot.commands.changing import Changing
from bot.commands.suggesting import Suggesting
from bot.durations import describe, parse_duration
from bot.errors import BotError, InvalidInput
from bot.models import Action
from handlers import ids
from handlers.blocks.changes import working_note
from handlers.blocks.kit import cut
from handlers.blocks.modals import (
    endpoint_options,
    option_name,
)
from handlers.buttons import ChangeForm, DenyForm
from handlers.forms import Forms, runtime_of
from handlers.home import HomePublisher
from handlers.outcomes import Reporter
from handlers.parsing import slack_unescape
from handlers.replies import DirectMessages, Replies
from handlers.runtime import Runtimes
from handlers.work import BUSY_FORM, Worker

logger = logging.getLogger(__name__)


def register(
    app: AsyncApp, worker: Worker, *, runtimes: Runtimes, forms: Forms, home: HomePublisher
) -> None:
    """Wire the endpoint menu, the two forms' submissions and the message shortcut; each acts
    in the project its form names."""
    app.options(ids.ENDPOINT_MENU)(partial(offer_endpoints, runtimes=runtimes))
    app.view(ids.CHANGE_FORM)(
        partial(change_submitted, worker=worker, runtimes=runtimes, max_pause=forms.max_pause)
    )
    app.view(ids.DENY_FORM)(partial(deny_submitted, worker=worker, runtimes=runtimes, home=home))
    app.shortcut(ids.PAUSE_SHORTCUT)(partial(pause_shortcut, forms=forms))


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
        suggesting = runtime.get(Suggesting)
        endpoints = await suggesting.suggest(user_id, str(body.get("value", "")))
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
    form = answers.form
    replies = worker.replies(AsyncRespond(response_url=form.response_url), client, form.channel)
    caller = _submitter(body, form.channel)
    work = run_change_form(replies, caller, answers, runtimes)
    if worker.take(form.action.value, replies, work, caller.user_id):
        await ack()
    else:  # the form stays open, saying so: sent again later, it is taken then
        await ack(response_action="errors", errors={ids.REASON_BLOCK: BUSY_FORM})


async def run_change_form(
    replies: Replies, caller: Caller, answers: ChangeAnswers, runtimes: Runtimes
) -> str:
    runtime = await runtime_of(runtimes, answers.form.project)
    return await runtime.run(change_from_form, replies, caller, answers)


async def change_from_form(
    replies: Replies,
    caller: Caller,
    answers: ChangeAnswers,
    *,
    changing: Changing,
    reporter: Reporter,
) -> str:
    action = answers.form.action
    await replies.private(working_note(action.value, answers.label))
    result = await changing.change(caller, action, answers.uid, answers.reason, answers.duration)
    return await reporter.report(replies, result, caller.user_id, answers.reason)


async def deny_submitted(  # noqa: PLR0917  # Bolt passes its own arguments by name
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    worker: Worker,
    runtimes: Runtimes,
    home: HomePublisher,
) -> None:
    """Deny's form, sent: the request is claimed and denied now, with the reason given."""
    view = body.get("view") or {}
    try:
        form = DenyForm.decode(str(view.get("private_metadata", "")))
    except InvalidInput as exc:
        await ack(response_action="errors", errors={ids.REASON_BLOCK: exc.message})
        return
    reason = _typed(
        (view.get("state") or {}).get("values") or {}, ids.REASON_BLOCK, ids.REASON_INPUT
    )
    caller = _submitter(body, form.channel)
    respond = (
        AsyncRespond(response_url=form.response_url)
        if form.response_url
        else DirectMessages(client, caller.user_id)  # opened from the App Home tab
    )
    replies = worker.replies(respond, client, form.channel)
    denied: Coroutine[Any, Any, str] = run_deny(replies, caller, form, reason, runtimes)
    if not form.response_url:
        denied = _then_home(denied, home, caller.user_id)
    if worker.take("deny", replies, denied, caller.user_id):
        await ack()
    else:
        await ack(response_action="errors", errors={ids.REASON_BLOCK: BUSY_FORM})


async def _then_home(work: Awaitable[str], home: HomePublisher, user_id: str) -> str:
    """A deny sent from the App Home tab: the board again, without the request (or with the
    reason it could not be denied)."""
    try:
        return await work
    finally:
        await home.publish(user_id)


async def run_deny(
    replies: Replies, caller: Caller, form: DenyForm, reason: str, runtimes: Runtimes
) -> str:
    runtime = await runtime_of(runtimes, form.project)
    return await runtime.run(deny_from_form, replies, caller, form, reason)


async def deny_from_form(
    replies: Replies,
    caller: Caller,
    form: DenyForm,
    reason: str,
    *,
    deciding: Deciding,
    reporter: Reporter,
) -> str:
    decision = await deciding.decide(caller, form.request_id, approve=False, reason=reason)
    return await reporter.decision(replies, decision, form.message_ts)
