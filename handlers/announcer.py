"""The one announcer: every change, from a command, a click or a timer, is told the same way.

Count it; post it to the endpoint's own Slack webhook when it happened (or may have); deliver
the message people see (a new channel post, the request updated in place, or a thread reply),
with metadata naming the action; and remember where it went, so a timed pause's reminder and
a write's settled result go in that thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.changes import Change, Outcome
from bot.message_book import MessageBook
from bot.metrics import Metrics
from bot.webhooks import WebhookPoster
from handlers.blocks.changes import change_metadata
from handlers.blocks.kit import Message, fitted
from handlers.replies import Posted

# Outcomes where the endpoint may now differ from what anyone asked: everyone must hear.
SURPRISES = (Outcome.UNEXPECTED, Outcome.UNCONFIRMED)

Metadata = dict[str, Any]
Deliver = Callable[[Message, Metadata], Awaitable[Posted]]


def worth_announcing(change: Change) -> bool:
    """A change that happened, or may have, or one settled after a "not confirmed" report
    (everyone heard that); one that certainly did not happen stays private."""
    return change.changed or change.outcome in SURPRISES or change.settled


class Announcer:
    """Webhook, people, thread: in that order, for every caller."""

    def __init__(self, webhooks: WebhookPoster, metrics: Metrics, book: MessageBook) -> None:
        self._webhooks = webhooks
        self._metrics = metrics
        self._book = book

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
            text, blocks = fitted(*webhook)
            summary = (
                await self._webhooks.post(change.endpoint.slack_webhook_url, text, blocks)
            ).summary
        message = people(summary)
        posted = await deliver(message, change_metadata(change))
        await self._book.told(change, posted.channel_id, posted.anchor, message[1])
        return posted
