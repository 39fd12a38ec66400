"""Button clicks: Approve/Deny, Resume, pick-one, confirm, Extend, Keep, Retry; each acts once.

The listener only acks and hands over; each click's work is a small function given only the
use cases it calls (by type, from its project: handlers.runtime), and every value is decoded
by `handlers.buttons`, never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.approvals.deciding import Deciding
from bot.change.model import Change
from bot.commands.changing import Changing
from bot.commands.discarded import DiscardedRetry, RetryWindow
from bot.commands.results import RecordGone
from bot.errors import InvalidInput
from bot.timers.resume_button import ResumeButton
from bot.timers.timed_pauses import TimerControls
from handlers import card_clicks, ids
from handlers.blocks.changes import EXTEND_BY
from handlers.blocks.timers import (
    extended_line,
    kept_line,
    resumed_line,
    retried_line,
    retried_notice,
    retry_settled_notice,
)
from handlers.buttons import (
    ExtendValue,
    JsonValue,
    KeepValue,
    ProjectPickValue,
    QuestionValue,
    RequestValue,
    ResumeValue,
    RetryValue,
)
from handlers.click import Click
from handlers.commands import Commands
from handlers.forms import Forms
from handlers.outcomes import Reporter
from handlers.pause_messages import PauseMessages
from handlers.replies import Replies
from handlers.runtime import Runtimes
from handlers.work import Worker

Work = Callable[[Replies, Click], Coroutine[Any, Any, str]]
# A click's work in its project: `(replies, click, ...)`, each further parameter one of the
# project's services by its type (handlers.runtime).
InProject = Callable[..., Awaitable[str]]


def register(
    app: AsyncApp, worker: Worker, *, runtimes: Runtimes, commands: Commands, forms: Forms
) -> None:
    """Wire every button to its work; each click acts in the project its value names."""

    def on(action: str | re.Pattern[str], kind: str, work: Work) -> None:
        app.action(action)(partial(clicked, worker=worker, kind=kind, work=work))

    def acting(action: str | re.Pattern[str], kind: str, work: InProject) -> None:
        on(action, kind, partial(in_its_project, work=work, runtimes=runtimes))

    acting(ids.APPROVE_BUTTON, "approve", approve)
    app.action(ids.DENY_BUTTON)(partial(deny_clicked, forms=forms))
    acting(ids.RESUME_BUTTON, "resume button", resume)
    acting(ids.CONFIRM_REENABLE, "confirm", confirm_reenable)
    acting(ids.EXTEND_BUTTON, "extend", extend_pause)
    acting(ids.KEEP_BUTTON, "keep paused", keep_paused)
    acting(ids.RETRY_DISCARDED, "retry discarded", retry_discarded)
    acting(ids.WATCH_PAUSE, "card pause", card_clicks.pause)
    acting(ids.WATCH_PAUSE_30M, "card pause", card_clicks.pause)
    acting(ids.WATCH_SNOOZE, "card snooze", card_clicks.snooze)
    acting(ids.WATCH_REENABLE, "card re-enable", card_clicks.reenable)
    acting(re.compile(rf"^{ids.PICK_ENDPOINT}_\d+$"), "pick", pick_endpoint)
    on(
        re.compile(rf"^{ids.PICK_PROJECT}_\d+$"),
        "pick project",
        partial(pick_project, commands=commands),
    )
    # Last, so it only sees what nothing above matched: a stale or made-up button.
    on(re.compile(".*"), "unknown button", unknown_button)


def project_of(click: Click) -> str:
    """The scope a button's value names ("" on buttons from before several projects)."""
    value = click.value
    if click.action_id in (ids.APPROVE_BUTTON, ids.DENY_BUTTON):
        return RequestValue.decode(value).project
    if click.action_id == ids.CONFIRM_REENABLE or click.action_id.startswith(ids.PICK_ENDPOINT):
        return QuestionValue.decode(value).project
    return JsonValue.decode(value).project


async def in_its_project(
    replies: Replies, click: Click, work: InProject, runtimes: Runtimes
) -> str:
    """Run the click's work with the use cases of the project its button was made in. The
    value grants nothing: the role, the request, the question and the pause are checked
    again in that project."""
    scope = project_of(click)
    runtime = await (runtimes.for_scope(scope) if scope else runtimes.legacy())
    if runtime is None:
        raise InvalidInput(
            "That button's project is not served by this bot any more. Nothing was changed."
        )
    logs.note(project=runtime.project.alias)
    return await runtime.run(work, replies, click)


async def clicked(  # noqa: PLR0917  # Bolt passes its own arguments by name
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    worker: Worker,
    kind: str,
    work: Work,
) -> None:
    await ack()
    click = Click.from_body(body)
    replies = worker.replies(respond, client, click.caller.channel_id)
    if not worker.take(kind, replies, work(replies, click), click.caller.user_id):
        worker.busy_notice(replies)


async def approve(replies: Replies, click: Click, *, deciding: Deciding, reporter: Reporter) -> str:
    request = RequestValue.decode(click.value)
    decision = await deciding.decide(click.caller, request.request_id, approve=True)
    return await reporter.decision(replies, decision, click.message_ts)


async def deny_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    forms: Forms,
) -> None:
    """Deny asks for a reason in a form, opened now (its trigger lives 3 s); the request is
    decided when the form is sent (handlers.modals), by whoever sends theirs first, in the
    project the request belongs to."""
    await ack()
    click = Click.from_body(body)
    request = RequestValue.decode(click.value)
    await forms.open_deny(
        click.caller,
        request.request_id,
        project=request.project,
        response_url=click.response_url,
        message_ts=click.message_ts,
        story=click.story,
        respond=respond,
        client=client,
    )


async def resume(
    replies: Replies,
    click: Click,
    *,
    button: ResumeButton,
    reporter: Reporter,
    messages: PauseMessages,
) -> str:
    """Resume the endpoint named by the button; role, state and claim are checked afresh."""
    value = ResumeValue.decode(click.value)
    result = await button.click(
        click.caller, value.uid, value.hold, click.message_ts, click.action_id
    )
    outcome = await reporter.report(replies, result, click.caller.user_id, "Resume button")
    if isinstance(result, Change) and result.changed:
        await messages.resumed(replies, click, resumed_line(click.caller.user_id, reporter.now()))
    return outcome


async def pick_endpoint(
    replies: Replies, click: Click, *, changing: Changing, reporter: Reporter
) -> str:
    """Continue the command the user ran, with the endpoint they picked."""
    picked = QuestionValue.decode(click.value)
    result, reason = await changing.pick(click.caller, picked.question_id, picked.uid)
    return await reporter.report(replies, result, click.caller.user_id, reason)


async def pick_project(replies: Replies, click: Click, commands: Commands) -> str:
    """Run the command the user typed, in the project they picked (the channel stays
    unbound)."""
    picked = ProjectPickValue.decode(click.value)
    return await commands.run_picked(replies, click.caller, picked.command_id, picked.alias)


async def confirm_reenable(
    replies: Replies, click: Click, *, changing: Changing, reporter: Reporter
) -> str:
    """The confirmed resume of an endpoint Convoy had disabled."""
    confirmed = QuestionValue.decode(click.value)
    change = await changing.reenable(click.caller, confirmed.question_id, confirmed.uid)
    return await reporter.report(
        replies, change, click.caller.user_id, "re-enabled after confirmation"
    )


async def unknown_button(replies: Replies, click: Click) -> str:
    raise InvalidInput("That button is not one this bot knows. Nothing was changed.")


async def extend_pause(
    replies: Replies,
    click: Click,
    *,
    timers: TimerControls,
    reporter: Reporter,
    messages: PauseMessages,
) -> str:
    """Push the auto-resume back by 30 minutes, once per time the clicker saw; every message
    of the pause shows the new time."""
    value = ExtendValue.decode(click.value)
    user_id = click.caller.user_id
    result = await timers.extend(user_id, value.uid, value.hold, value.due, EXTEND_BY)
    if isinstance(result, RecordGone):
        return await reporter.report(replies, result, user_id, "")
    now = reporter.now()
    await messages.retimed(replies, click, result, extended_line(user_id, result, now), now)
    return "extended"


async def keep_paused(
    replies: Replies,
    click: Click,
    *,
    timers: TimerControls,
    reporter: Reporter,
    messages: PauseMessages,
) -> str:
    """Cancel the auto-resume; the Resume button stays, on every message of the pause."""
    value = KeepValue.decode(click.value)
    user_id = click.caller.user_id
    result = await timers.keep(user_id, value.uid, value.hold)
    if isinstance(result, RecordGone):
        return await reporter.report(replies, result, user_id, "")
    await messages.retimed(replies, click, result, kept_line(user_id), reporter.now())
    return "kept paused"


async def retry_discarded(replies: Replies, click: Click, *, discarded: DiscardedRetry) -> str:
    """Ask Convoy to retry the deliveries it discarded during the pause, once."""
    value = RetryValue.decode(click.value)
    start, end = value.window()
    window = RetryWindow(value.uid, start, end, click.message_ts)
    user_id = click.caller.user_id
    retried = await discarded.retry(user_id, window, click.caller.trigger)
    line = retried_line(user_id, retried)
    await replies.update(click.message_ts, click.text, click.without_buttons(line))
    await replies.private(retried_notice(retried))
    if retried.confirmed:
        return "retried"
    settled = await discarded.settle(user_id, window, retried)
    await replies.private(retry_settled_notice(retried, settled))
    if not settled.took:  # the button works again: put it back
        await replies.update(click.message_ts, click.text, click.message.get("blocks", []))
    return "retry settled"
