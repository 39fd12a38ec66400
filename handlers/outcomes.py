"""Rendering what `bot.operations` returned, shared by slash commands and button clicks."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime

from bot.changes import Change, Outcome
from bot.errors import AccessStoreUnavailable, BotError
from bot.models import Endpoint
from bot.operations import ApprovalAsked, Choice, Decision, NeedsConfirmation, Operations
from bot.services import Services
from handlers import blocks
from handlers.replies import Replies

logger = logging.getLogger(__name__)

UNEXPECTED = (
    ":x: Something unexpected stopped the bot before it could report. Check the endpoint "
    "with `/convoy status <endpoint>` before trying again."
)
# Outcomes where the endpoint may now differ from what anyone asked: everyone must hear.
SURPRISES = (Outcome.UNEXPECTED, Outcome.UNCONFIRMED)

Result = Change | Choice | ApprovalAsked | NeedsConfirmation | Endpoint


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
    services: Services, replies: Replies, result: Result, actor_id: str, reason: str
) -> str:
    """Tell the caller (and, for a change that happened, the channel and webhook)."""
    match result:
        case Endpoint():
            text, status_blocks = blocks.status_message(result)
            await replies.private(text, status_blocks)
            return "status"
        case Choice():
            text, choice_blocks = blocks.choice_message(
                result.verb, result.candidates, result.choice_id
            )
            await replies.private(text, choice_blocks)
            return "choice offered"
        case ApprovalAsked():
            return await post_request(services.operations, replies, result)
        case NeedsConfirmation():
            text, confirm_blocks = blocks.confirmation_message(
                result.endpoint, result.confirmation_id
            )
            await replies.private(text, confirm_blocks)
            return "confirmation asked"
        case Change():
            return await announce(services, replies, result, actor_id, reason)


async def post_request(operations: Operations, replies: Replies, asked: ApprovalAsked) -> str:
    """A new request goes in the channel with its buttons; a duplicate only informs the asker."""
    if asked.already_open:
        await replies.private(blocks.already_requested_message(asked.request))
        return "already requested"
    text, request_blocks = blocks.request_message(asked.request)
    posted = await replies.channel(text, request_blocks)
    if not posted.shown:
        # Nobody can see it, so nobody can approve it: take it back and say so.
        await operations.withdraw_request(asked.request)
        await replies.private(blocks.request_not_posted_message(asked.request, posted.error))
        return "request not posted"
    if posted.ts:
        with contextlib.suppress(AccessStoreUnavailable):  # only later updates need it
            await operations.attach_message(asked.request, posted.ts)
    await replies.private(blocks.request_posted_message(asked.request))
    return "approval requested"


async def announce(
    services: Services, replies: Replies, change: Change, actor_id: str, reason: str
) -> str:
    """A change that happened (or may have) goes to the webhook and the channel; a change
    that certainly did not happen stays private."""
    services.metrics.changes.labels(change.action.value, change.outcome.value).inc()
    if not change.changed and change.outcome not in SURPRISES:
        await replies.private(blocks.unchanged_message(change))
        return change.outcome.value
    now = datetime.now(UTC)
    text, webhook_blocks = blocks.change_announcement(change, actor_id, reason, now)
    webhook = await services.webhooks.post(change.endpoint.slack_webhook_url, text, webhook_blocks)
    channel_text, channel_blocks = blocks.channel_announcement(
        change, actor_id, reason, now, webhook.summary
    )
    posted = await replies.channel(channel_text, channel_blocks)
    if not posted.shown:
        await replies.private(blocks.not_posted_message(channel_text, posted.error))
    if posted.ts and change.hold is not None and change.hold.resume_at:
        # A timer's reminder and report go in this message's thread. (An untimed pause
        # needs no thread: skipping it saves a Redis round trip on every plain pause.)
        with contextlib.suppress(AccessStoreUnavailable):
            await services.operations.holds.attach_message(
                change.hold, replies.channel_id, posted.ts
            )
    return change.outcome.value


async def report_decision(
    services: Services, replies: Replies, decision: Decision, message_ts: str
) -> str:
    """Update the request message in place, post to the webhook, tell requester and decider."""
    request, change = decision.request, decision.change
    now = datetime.now(UTC)
    summary = ""
    if change is not None:
        services.metrics.changes.labels(change.action.value, change.outcome.value).inc()
        if change.changed:
            text, webhook_blocks = blocks.change_announcement(
                change, request.requester, request.reason, now, request.decided_by
            )
            webhook = await services.webhooks.post(
                change.endpoint.slack_webhook_url, text, webhook_blocks
            )
            summary = webhook.summary
    text, decided_blocks = blocks.decision_message(request, decision.state, change, now, summary)
    ts = request.message_ts or message_ts
    await replies.update(ts, text, decided_blocks)
    if ts and change is not None and change.hold is not None and change.hold.resume_at:
        with contextlib.suppress(AccessStoreUnavailable):
            await services.operations.holds.attach_message(change.hold, replies.channel_id, ts)
    await replies.private(blocks.decider_notice(decision.state, change))
    await replies.ephemeral_to(
        request.requester, blocks.requester_notice(request, decision.state, change)
    )
    return decision.state.value
