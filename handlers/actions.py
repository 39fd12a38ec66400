"""Button clicks: Resume on an announcement, and pick-one among ambiguous endpoints."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.changes import Action, Change
from bot.errors import InvalidInput
from bot.services import Services
from handlers import ids
from handlers.outcomes import guarded, report
from handlers.replies import Replies


def register(app: AsyncApp, services: Services) -> None:
    """Wire the buttons to the services."""

    async def resume_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        replies, user_id = _replies(body, respond, client, services)
        work = resume_from_button(services, replies, user_id, body)
        services.tasks.spawn(guarded(services, replies, "resume button", work))

    async def endpoint_picked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        replies, user_id = _replies(body, respond, client, services)
        work = pick_endpoint(services, replies, user_id, _action_value(body))
        services.tasks.spawn(guarded(services, replies, "pick", work))

    app.action(ids.RESUME_BUTTON)(resume_clicked)
    app.action(re.compile(rf"^{ids.PICK_ENDPOINT}_\d+$"))(endpoint_picked)


def _replies(
    body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, services: Services
) -> tuple[Replies, str]:
    channel_id = str((body.get("channel") or {}).get("id", ""))
    user_id = str((body.get("user") or {}).get("id", ""))
    return Replies(respond, client, channel_id, services.metrics), user_id


def _action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value", ""))


async def resume_from_button(
    services: Services, replies: Replies, user_id: str, body: dict[str, Any]
) -> str:
    """Resume the endpoint named by the button; role and state are checked afresh."""
    try:
        value = json.loads(_action_value(body))
        uid = str(value["uid"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput("That button is damaged; run `/convoy resume <endpoint>`.") from exc
    result = await services.operations.change_by_uid(user_id, Action.RESUME, uid)
    outcome = await report(services, replies, result, user_id, "Resume button")
    message = body.get("message") or {}
    if isinstance(result, Change) and result.changed and message.get("ts"):
        await _retire_resume_button(replies, message, user_id)
    return outcome


async def _retire_resume_button(replies: Replies, message: dict[str, Any], user_id: str) -> None:
    """The announcement keeps its story but loses its button, with who resumed it and when."""
    kept = [b for b in message.get("blocks", []) if b.get("type") != "actions"]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    kept.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f":arrow_forward: Resumed by <@{user_id}> at {stamp}"}
            ],
        }
    )
    await replies.update(str(message["ts"]), str(message.get("text", "")), kept)


async def pick_endpoint(services: Services, replies: Replies, user_id: str, value: str) -> str:
    """Continue the command the user ran, with the endpoint they picked."""
    choice_id, _, uid = value.partition(":")
    if not choice_id or not uid:
        raise InvalidInput("That button is damaged; run the command again.")
    picked, endpoint, role = await services.operations.pick(user_id, choice_id, uid)
    if picked.choice.verb == "status":
        return await report(services, replies, endpoint, user_id, "")
    action = Action(picked.choice.verb)
    result = await services.operations.change_endpoint(action, endpoint, role)
    return await report(services, replies, result, user_id, picked.choice.reason)
