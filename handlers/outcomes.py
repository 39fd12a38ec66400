"""Rendering what `bot.operations` returned, shared by slash commands and button clicks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from bot.changes import Change
from bot.errors import BotError
from bot.models import Endpoint
from bot.operations import Choice, NeedsApproval
from bot.services import Services
from handlers import blocks
from handlers.replies import Replies

logger = logging.getLogger(__name__)

UNEXPECTED = (
    ":x: Something unexpected stopped the bot. Nothing is known to have changed; "
    "check with `/convoy status <endpoint>` before trying again."
)


async def guarded(services: Services, replies: Replies, kind: str, work: Awaitable[str]) -> None:
    """Run work after the ack; every failure becomes a private message, never a traceback."""
    try:
        result = await work
    except BotError as exc:
        services.metrics.commands.labels(kind, type(exc).__name__).inc()
        await replies.private(blocks.error_message(exc))
        return
    except Exception as exc:  # noqa: BLE001  # the last line: nothing may escape to Bolt's logs
        services.metrics.commands.labels(kind, "crash").inc()
        logger.error("%s failed unexpectedly: %s", kind, type(exc).__name__)  # no traceback
        await replies.private(UNEXPECTED)
        return
    services.metrics.commands.labels(kind, result).inc()


async def report(
    services: Services,
    replies: Replies,
    result: Change | Choice | NeedsApproval | Endpoint,
    actor_id: str,
    reason: str,
) -> str:
    """Tell the caller (and, for a change that happened, the channel and webhook)."""
    if isinstance(result, Endpoint):
        text, status_blocks = blocks.status_message(result)
        await replies.private(text, status_blocks)
        return "status"
    if isinstance(result, Choice):
        return await _offer_choice(replies, result)
    if isinstance(result, NeedsApproval):
        await replies.private(
            blocks.needs_approval_message(result.action, result.endpoint, result.role)
        )
        return "needs approval"
    return await announce(services, replies, result, actor_id, reason)


async def _offer_choice(replies: Replies, choice: Choice) -> str:
    text, choice_blocks = blocks.choice_message(choice.verb, choice.candidates, choice.choice_id)
    await replies.private(text, choice_blocks)
    return "choice offered"


async def announce(
    services: Services, replies: Replies, change: Change, actor_id: str, reason: str
) -> str:
    """A change that happened goes to the webhook and the channel; anything else stays private."""
    services.metrics.changes.labels(change.action.value, change.outcome.value).inc()
    if not change.changed:
        await replies.private(blocks.unchanged_message(change))
        return change.outcome.value
    now = datetime.now(UTC)
    text, webhook_blocks = blocks.change_announcement(change, actor_id, reason, now)
    webhook = await services.webhooks.post(change.endpoint.slack_webhook_url, text, webhook_blocks)
    channel_text, channel_blocks = blocks.channel_announcement(
        change, actor_id, reason, now, webhook.summary
    )
    await replies.channel(channel_text, channel_blocks)
    return change.outcome.value
