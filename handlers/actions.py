"""Button clicks: Approve/Deny, Resume, pick-one and confirm; each acts at most once."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.changes import Change
from bot.errors import InvalidInput
from bot.models import Endpoint
from bot.operations import Caller
from bot.services import Services
from handlers import blocks, ids
from handlers.outcomes import guarded, report, report_decision
from handlers.replies import Replies


@dataclass(frozen=True)
class Click:
    """The parts of a `block_actions` payload the bot uses; the value is never trusted."""

    caller: Caller
    action_id: str
    value: str
    message: dict[str, Any]

    @property
    def message_ts(self) -> str:
        return str(self.message.get("ts", ""))

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        action = (body.get("actions") or [{}])[0]
        channel = body.get("channel") or {}
        user = body.get("user") or {}
        message = body.get("message") or {}
        return cls(
            Caller(str(user.get("id", "")), str(channel.get("id", ""))),
            str(action.get("action_id", "")),
            str(action.get("value", "")),
            message if isinstance(message, dict) else {},
        )


Work = Callable[[Services, Replies, Click], Awaitable[str]]


def register(app: AsyncApp, services: Services) -> None:
    """Wire every button to its work; the listener only acks and hands over."""

    def listener(kind: str, work: Work) -> Callable[..., Awaitable[None]]:
        async def clicked(
            ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
        ) -> None:
            await ack()
            click = Click.from_body(body)
            replies = Replies(respond, client, click.caller.channel_id, services.metrics)
            services.tasks.spawn(guarded(services, replies, kind, work(services, replies, click)))

        return clicked

    app.action(ids.APPROVE_BUTTON)(listener("approve", approve))
    app.action(ids.DENY_BUTTON)(listener("deny", deny))
    app.action(ids.RESUME_BUTTON)(listener("resume button", resume_from_button))
    app.action(ids.CONFIRM_REENABLE)(listener("confirm", confirm_reenable))
    app.action(ids.EXTEND_BUTTON)(listener("extend", extend_pause))
    app.action(ids.KEEP_BUTTON)(listener("keep paused", keep_paused))
    app.action(ids.RETRY_DISCARDED)(listener("retry discarded", retry_discarded))
    app.action(re.compile(rf"^{ids.PICK_ENDPOINT}_\d+$"))(listener("pick", pick_endpoint))
    # Last, so it only sees what nothing above matched: a stale or made-up button.
    app.action(re.compile(".*"))(listener("unknown button", unknown_button))


async def approve(services: Services, replies: Replies, click: Click) -> str:
    decision = await services.operations.decide(click.caller.user_id, click.value, approve=True)
    return await report_decision(services, replies, decision, click.message_ts)


async def deny(services: Services, replies: Replies, click: Click) -> str:
    decision = await services.operations.decide(click.caller.user_id, click.value, approve=False)
    return await report_decision(services, replies, decision, click.message_ts)


async def resume_from_button(services: Services, replies: Replies, click: Click) -> str:
    """Resume the endpoint named by the button; role, state and claim are checked afresh."""
    try:
        value = json.loads(click.value)
        uid, hold_id = str(value["uid"]), str(value.get("hold", ""))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput("That button is damaged; run `/convoy resume <endpoint>`.") from exc
    result = await services.operations.resume_from_message(
        click.caller, uid, hold_id, click.message_ts, click.action_id
    )
    outcome = await report(services, replies, result, click.caller.user_id, "Resume button")
    if isinstance(result, Change) and result.changed:
        await _retire_resume_button(replies, click)
    return outcome


async def _retire_resume_button(replies: Replies, click: Click) -> None:
    """The announcement keeps its story but loses its button, with who resumed it and when."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = f":arrow_forward: Resumed by <@{click.caller.user_id}> at {stamp}"
    await replies.update(
        click.message_ts, str(click.message.get("text", "")), _without_actions(click, note)
    )


def _split_value(value: str) -> tuple[str, str]:
    question_id, _, uid = value.partition(":")
    if not question_id or not uid:
        raise InvalidInput("That button is damaged; run the command again.")
    return question_id, uid


async def pick_endpoint(services: Services, replies: Replies, click: Click) -> str:
    """Continue the command the user ran, with the endpoint they picked."""
    choice_id, uid = _split_value(click.value)
    result, reason = await services.operations.pick(click.caller, choice_id, uid)
    return await report(services, replies, result, click.caller.user_id, reason)


async def confirm_reenable(services: Services, replies: Replies, click: Click) -> str:
    """The confirmed resume of an endpoint Convoy had disabled."""
    confirmation_id, uid = _split_value(click.value)
    change = await services.operations.reenable(click.caller, confirmation_id, uid)
    return await report(
        services, replies, change, click.caller.user_id, "re-enabled after confirmation"
    )


async def unknown_button(services: Services, replies: Replies, click: Click) -> str:
    raise InvalidInput("That button is not one this bot knows. Nothing was changed.")


def _fields(value: str, *names: str) -> list[str]:
    """Named string fields of a JSON button value; InvalidInput if any is missing."""
    try:
        loaded = json.loads(value)
        return [str(loaded[name]) for name in names]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("That button is damaged; nothing was changed.") from exc


def _without_actions(click: Click, note: str) -> list[dict[str, Any]]:
    return blocks.without_buttons(click.message.get("blocks", []), note)


async def extend_pause(services: Services, replies: Replies, click: Click) -> str:
    """Push the auto-resume back by 30 minutes, once per time the clicker saw."""
    uid, hold_id, due = _fields(click.value, "uid", "hold", "due")
    hold, new_due = await services.operations.extend_pause(
        click.caller.user_id, uid, hold_id, due, blocks.EXTEND_BY
    )
    moved = hold.model_copy(update={"resume_at": f"{new_due.timestamp():.3f}"})
    note = (
        f":alarm_clock: <@{click.caller.user_id}> extended the pause. "
        + blocks.auto_resume_line(moved, services.operations.clock.now())
    )
    kept = _without_actions(click, note)
    endpoint = Endpoint(uid=hold.uid, name=hold.name)
    if click.message.get("thread_ts") in (None, click.message_ts):
        kept.append(blocks.resume_actions(endpoint, moved))  # the announcement keeps its buttons
    await replies.update(click.message_ts, str(click.message.get("text", "")), kept)
    return "extended"


async def keep_paused(services: Services, replies: Replies, click: Click) -> str:
    """Cancel the auto-resume; the Resume button stays."""
    uid, hold_id = _fields(click.value, "uid", "hold")
    hold = await services.operations.keep_paused(click.caller.user_id, uid, hold_id)
    note = (
        f":pushpin: <@{click.caller.user_id}> cancelled the auto-resume: "
        "it stays paused until someone resumes it."
    )
    kept = _without_actions(click, note)
    still = hold.model_copy(update={"resume_at": ""})  # the Resume button stays tied to it
    kept.append(blocks.resume_actions(Endpoint(uid=hold.uid, name=hold.name), still))
    await replies.update(click.message_ts, str(click.message.get("text", "")), kept)
    return "kept paused"


async def retry_discarded(services: Services, replies: Replies, click: Click) -> str:
    """Ask Convoy to retry the deliveries it discarded during the pause."""
    uid, start, end = _fields(click.value, "uid", "start", "end")
    try:
        window = (datetime.fromtimestamp(int(start), UTC), datetime.fromtimestamp(int(end), UTC))
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidInput("That button is damaged; nothing was retried.") from exc
    count = await services.operations.retry_discarded(
        click.caller.user_id, uid, window[0], window[1], click.message_ts
    )
    note = f":repeat: <@{click.caller.user_id}> asked Convoy to retry {count} discarded deliveries."
    await replies.update(
        click.message_ts, str(click.message.get("text", "")), _without_actions(click, note)
    )
    await replies.private(f":repeat: Convoy is retrying {count} discarded event deliveries.")
    return "retried"
