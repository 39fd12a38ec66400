"""The watcher's cards in a project's bound channels: posted when an episode opens, and
rewritten in place (in every channel) when it ends, or when someone pauses or snoozes from
it. Whoever takes the card from the store rewrites it, once."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.message_book import MessageBook
from bot.metrics import Metrics
from bot.watch_rules import EventKind, WatchEvent
from bot.watch_store import Card, CardPost, WatchStore
from handlers.announcer import ProjectFace
from handlers.blocks.kit import fitted, without_buttons
from handlers.blocks.watch import ended_line, failing_card

logger = logging.getLogger(__name__)


class WatchCards:
    """One project's failing cards."""

    def __init__(
        self,
        slack: AsyncWebClient,
        store: WatchStore,
        book: MessageBook,
        face: ProjectFace,
        metrics: Metrics,
    ) -> None:
        self._slack = slack
        self._store = store
        self._book = book
        self._face = face
        self._metrics = metrics

    @property
    def _scope(self) -> str:
        return self._face.project.scope

    async def tell(self, events: list[WatchEvent], now: datetime) -> None:
        """Post a card for each new episode; rewrite the card of each one that ended."""
        for event in events:
            if event.kind is EventKind.FAILING:
                await self._open(event, now)
            else:
                await self.close(event.endpoint.uid, ended_line(event, now))

    async def _open(self, event: WatchEvent, now: datetime) -> None:
        uid = event.endpoint.uid
        card_id = f"{uid}:{int(now.timestamp())}"
        text, blocks = fitted(*self._face.marked(failing_card(event, self._scope, card_id, now)))
        posts = []
        for channel in await self._book.bound_channels(self._scope):
            try:
                answer = await self._slack.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False
                )
            except (SlackApiError, ClientError, TimeoutError) as exc:
                self._metrics.slack_posts.labels("watch card", "failed").inc()
                logger.warning("posting a failing card failed: %s", type(exc).__name__)
                continue
            self._metrics.slack_posts.labels("watch card", "ok").inc()
            posts.append(CardPost(channel=channel, ts=str(answer.get("ts") or "")))
        story = [b for b in blocks if b.get("type") != "actions"]
        card = Card(
            card_id=card_id,
            opened=now.timestamp(),
            posts=tuple(posts),
            text=text,
            blocks=json.dumps(story),
        )
        await self._store.put_card(self._scope, uid, card)

    async def close(self, uid: str, line: str, card_id: str = "") -> bool:
        """Rewrite the endpoint's open card (episode `card_id`, when given) in every channel:
        its buttons gone, `line` added. False when there was no such card open."""
        card = await self._store.take_card(self._scope, uid, card_id)
        if card is None:
            return False
        text, blocks = fitted(card.text, without_buttons(json.loads(card.blocks or "[]"), line))
        for post in card.posts:
            try:
                await self._slack.chat_update(
                    channel=post.channel, ts=post.ts, text=text, blocks=blocks
                )
                self._metrics.slack_posts.labels("watch card", "ok").inc()
            except (SlackApiError, ClientError, TimeoutError) as exc:
                self._metrics.slack_posts.labels("watch card", "failed").inc()
                logger.warning("updating a failing card failed: %s", type(exc).__name__)
        return True
