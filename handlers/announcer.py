"""The one announcer: every change, from a command, a click or a timer, is told the same way.

Count it; post it to the endpoint's own Slack webhook when it happened (or may have); deliver
the message people see (a new channel post, the request updated in place, or a thread reply);
and remember a timed pause's message, so its reminder and report go in that thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.changes import Change, Outcome
from bot.metrics import Metrics
from bot.models import Hold
from bot.webhooks import WebhookPoster
from handlers.blocks.kit import Message
from handlers.replies import Posted

# Outcomes where the endpoint may now differ from what anyone asked: everyone must hear.
SURPRISES = (Outcome.UNEXPECTED, Outcome.UNCONFIRMED)

Deliver = Callable[[Message], Awaitable[Posted]]


class ThreadBook(Protocol):
    """Where a timed pause was announced (bot.timed_pauses.TimerControls)."""

    async def remember_thread(self, hold: Hold, channel_id: str, message_ts: str) -> None: ...


def worth_announcing(change: Change) -> bool:
    """A change that happened, or may have; one that certainly did not stays private."""
    return change.changed or change.outcome in SURPRISES


class Announcer:
    """Webhook, people, thread: in that order, for every caller."""

    def __init__(self, webhooks: WebhookPoster, metrics: Metrics, threads: ThreadBook) -> None:
        self._webhooks = webhooks
        self._metrics = metrics
        self._threads = threads

    async def announce(
        self,
        change: Change,
        *,
        webhook: Message,
        people: Callable[[str], Message],
        deliver: Deliver,
        kind: str = "",
    ) -> Posted:
        """`people` builds the message from the webhook's result; `deliver` sends it."""
        self._metrics.changes.labels(kind or change.action.value, change.outcome.value).inc()
        summary = ""
        if worth_announcing(change):
            text, blocks = webhook
            summary = (
                await self._webhooks.post(change.endpoint.slack_webhook_url, text, blocks)
            ).summary
        posted = await deliver(people(summary))
        hold = change.hold
        if posted.ts and hold is not None and hold.resume_at:
            await self._threads.remember_thread(hold, posted.channel_id, posted.ts)
        return posted
