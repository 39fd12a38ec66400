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

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.change.message_book import MessageBook
from bot.change.model import Change, Outcome
from bot.logs import describe_failure
from bot.metrics import Metrics
from bot.project import Project
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

    def __init__(self, slack: AsyncWebClient, book: MessageBook, metrics: Metrics) -> None:
        self._slack = slack
        self._book = book
        self._metrics = metrics

    async def post(self, scope: str, origin: Posted, message: Message) -> None:
        channels = [c for c in await self._book.bound_channels(scope) if c != origin.channel_id]
        if not channels:
            return
        text, blocks = fitted(*bound_copy(message, origin.channel_id, await self._link(origin)))
        made = []
        for channel in channels:
            try:
                answer = await self._slack.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False
                )
                self._metrics.slack_posts.labels("copy", "ok").inc()
                made.append((channel, str(answer.get("ts") or "")))
            except (SlackApiError, ClientError, TimeoutError) as exc:
                self._metrics.slack_posts.labels("copy", "failed").inc()
                logger.warning("copy to a bound channel failed: %s", describe_failure(exc))
        if origin.ts:
            await self._book.copied(origin.channel_id, origin.ts, made)

    async def update(self, origin: Posted, message: Message) -> None:
        """The original was rewritten (buttons retired, timer moved): so are its copies."""
        copies = await self._book.copies_of(origin.channel_id, origin.ts)
        if not copies:
            return
        text, blocks = fitted(*bound_copy(message, origin.channel_id, await self._link(origin)))
        for channel, ts in copies:
            try:
                await self._slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            except (SlackApiError, ClientError, TimeoutError) as exc:
                logger.warning("updating a copy failed: %s", describe_failure(exc))

    async def _link(self, origin: Posted) -> str:
        if not origin.ts:
            return ""
        try:
            answer = await self._slack.chat_getPermalink(
                channel=origin.channel_id, message_ts=origin.ts
            )
        except (SlackApiError, ClientError, TimeoutError):
            return ""
        return str(answer.get("permalink") or "")


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
