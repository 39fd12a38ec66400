"""The one announcer: every change, from a command, a click or a timer, is told the same way.

Count it; post it to the endpoint's own Slack webhook when it happened (or may have); deliver
the message people see (a new channel post, the request updated in place, or a thread reply),
with metadata naming the action; and remember where it went, so a timed pause's reminder and
a write's settled result go in that thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.change.message_book import MessageBook
from bot.change.model import Change, Outcome
from bot.metrics import Metrics
from bot.project import Project
from bot.slack_client import SlackCalls
from bot.webhooks import WebhookPoster
from handlers.blocks.changes import bound_copy, change_metadata, status_only_announcement
from handlers.blocks.kit import Message, fitted, project_note
from handlers.replies import Posted

logger = logging.getLogger(__name__)

# Outcomes where the endpoint may now differ from what anyone asked: everyone must hear.
SURPRISES = (Outcome.UNEXPECTED, Outcome.UNCONFIRMED)

Metadata = dict[str, Any]
Deliver = Callable[[Message, Metadata], Awaitable[Posted]]


def worth_announcing(change: Change) -> bool:
    """A change that happened, or may have, or one settled after a "not confirmed" report
    (everyone heard that); one that certainly did not happen stays private."""
    return change.changed or change.outcome in SURPRISES or change.settled


@dataclass(frozen=True)
class ProjectFace:
    """How a project shows in messages: named when the bot serves several."""

    project: Project
    several: bool

    @property
    def label(self) -> str:
        return self.project.alias if self.several else ""

    def marked(self, message: Message) -> Message:
        """The message with the project named under it, when there are several."""
        text, blocks = message
        if not self.several:
            return message
        return f"[{self.project.alias}] {text}", [*blocks, project_note(self.project.alias)]


class BoundCopies:
    """Copies of a project's announcements in the channels bound to it: no buttons, a link to
    the message where the change was made; updated when that message is."""

    def __init__(self, calls: SlackCalls, book: MessageBook) -> None:
        self._calls = calls
        self._book = book

    async def post(self, scope: str, origin: Posted, message: Message) -> None:
        channels = [c for c in await self._book.bound_channels(scope) if c != origin.channel_id]
        if not channels:
            return
        link = await self._calls.permalink(origin.channel_id, origin.ts)
        text, blocks = fitted(*bound_copy(message, origin.channel_id, link))
        made = []
        for channel in channels:
            answer = await self._calls.post("copy", channel, text, blocks)
            if answer.ok:
                made.append((channel, answer.ts))
        if origin.ts:
            await self._book.copied(origin.channel_id, origin.ts, made)

    async def update(self, origin: Posted, message: Message) -> None:
        """The original was rewritten (buttons retired, timer moved): so are its copies."""
        if not origin.ts:
            return
        copies = await self._book.copies_of(origin.channel_id, origin.ts)
        if not copies:
            return
        link = await self._calls.permalink(origin.channel_id, origin.ts)
        text, blocks = fitted(*bound_copy(message, origin.channel_id, link))
        for channel, ts in copies:
            await self._calls.update("copy", channel, ts, text, blocks)


class Announcer:
    """Webhook, people, bound channels, thread: in that order, for every caller."""

    def __init__(
        self,
        webhooks: WebhookPoster,
        metrics: Metrics,
        book: MessageBook,
        copies: BoundCopies,
        face: ProjectFace,
    ) -> None:
        self._webhooks = webhooks
        self._metrics = metrics
        self._book = book
        self._copies = copies
        self.face = face

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
        told = worth_announcing(change)
        summary = await self._to_webhook(change, webhook) if told else ""
        message = self.face.marked(people(summary)) if told else people(summary)
        posted = await deliver(message, change_metadata(change))
        if told and posted.shown:
            await self._copies.post(self.face.project.scope, posted, message)
        await self._book.told(change, posted.channel_id, posted.anchor, message[1])
        return posted

    async def _to_webhook(self, change: Change, full: Message) -> str:
        """What the endpoint's own Slack webhook hears, as its project says: everything, only
        the status (the webhook may belong to a customer), or nothing."""
        detail = self.face.project.webhook_detail
        if detail == "off":
            return "The project does not post to endpoints' webhooks."
        text, blocks = full if detail == "full" else status_only_announcement(change)
        if detail == "full":
            text, blocks = self.face.marked((text, blocks))
        text, blocks = fitted(text, blocks)
        return (await self._webhooks.post(change.endpoint.slack_webhook_url, text, blocks)).summary
