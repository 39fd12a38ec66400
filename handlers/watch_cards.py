"""The watcher's cards in a project's bound channels: posted when an episode opens, and
rewritten in place (in every channel) when it ends, or when someone pauses or snoozes from
it. Whoever takes the card from the store rewrites it, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.change.message_book import MessageBook
from bot.slack_client import SlackCalls
from bot.watch.rules import EventKind, WatchEvent
from bot.watch.store import Card, CardPost, Digest, WatchStore
from handlers.announcer import ProjectFace
from handlers.blocks.kit import Message, escape, fitted, fitted_blocks, section, without_buttons
from handlers.blocks.watch import (
    digest_entry,
    digest_message,
    disabled_card,
    ended_line,
    failing_card,
    outside_line,
    outside_note,
)

DIGEST_AT = 5  # endpoints starting to fail in one poll that get one digest, not a card each


class WatchCards:
    """One project's failing cards."""

    def __init__(
        self, calls: SlackCalls, store: WatchStore, book: MessageBook, face: ProjectFace
    ) -> None:
        self._calls = calls
        self._store = store
        self._book = book
        self._face = face

    @property
    def _scope(self) -> str:
        return self._face.project.scope

    async def tell(self, events: list[WatchEvent], now: datetime) -> None:
        """Post a card for each new episode (one digest for many at once); rewrite the card
        of each one that ended; note what changed outside the bot."""
        failing = [e for e in events if e.kind is EventKind.FAILING]
        if len(failing) >= DIGEST_AT:
            await self._digest(failing, now)
            events = [e for e in events if e.kind is not EventKind.FAILING]
        for event in events:
            uid = event.endpoint.uid
            card_id = f"{uid}:{int(now.timestamp())}"
            match event.kind:
                case EventKind.FAILING:
                    card = failing_card(event, self._scope, card_id, now)
                    posts = await self._post_all(card, alert=True)
                    if not posts:
                        await self._store.forget_failing(self._scope, [uid])
                        continue
                    await self._keep(uid, card_id, now, card, posts)
                case EventKind.DISABLED:
                    # One card per endpoint: a failing card becomes the disabled one.
                    card = disabled_card(event, self._scope, card_id, now)
                    old = await self._store.take_card(self._scope, uid)
                    if old is not None and old.digest:
                        await self._close_line(old, uid, "disabled by Convoy: see its card")
                        old = None
                    if old is not None:
                        await self._update_all(old.posts, card)
                    if old is None:
                        posts = await self._post_all(card, alert=True)
                    else:
                        posts = old.posts
                    await self._keep(uid, card_id, now, card, posts)
                case EventKind.RECOVERED | EventKind.ENDED:
                    await self.close(uid, ended_line(event, now))
                case EventKind.OUTSIDE | EventKind.DELETED:
                    await self.close(uid, outside_line(event, now))
        noted = [e for e in events if e.kind in (EventKind.OUTSIDE, EventKind.DELETED)]
        if noted:
            await self._post_all(outside_note(noted, now))

    async def note(self, message: Message) -> None:
        """A message in each bound channel that nobody needs to update."""
        await self._post_all(message)

    async def close(self, uid: str, line: str, card_id: str = "") -> bool:
        """Rewrite the endpoint's open card (episode `card_id`, when given) in every channel:
        its buttons gone, `line` added. False when there was no such card open."""
        card = await self._store.take_card(self._scope, uid, card_id)
        if card is None:
            return False
        if card.digest:
            await self._close_line(card, uid, line)
            return True
        blocks = without_buttons(json.loads(card.blocks or "[]"), line)
        await self._update_all(card.posts, (card.text, blocks))
        return True

    async def _digest(self, events: list[WatchEvent], now: datetime) -> None:
        entries = {e.endpoint.uid: digest_entry(e) for e in events}
        refs = {uid: ref for uid, (ref, _) in entries.items()}
        states = {uid: state for uid, (_, state) in entries.items()}
        posts = await self._post_all(digest_message(refs, states, now), alert=True)
        if not posts:
            await self._store.forget_failing(self._scope, list(refs))
            return
        digest = Digest(
            digest_id=f"digest:{now.timestamp():.3f}",
            opened=now.timestamp(),
            posts=posts,
            refs=refs,
            states=states,
        )
        await self._store.put_digest(self._scope, digest)
        for uid in refs:
            card_id = f"{uid}:{int(now.timestamp())}"
            member = Card(card_id=card_id, opened=now.timestamp(), digest=digest.digest_id)
            await self._store.put_card(self._scope, uid, member)

    async def _close_line(self, card: Card, uid: str, line: str) -> None:
        """Rewrite the endpoint's line of its digest in Redis, atomically (a poll and a
        `/convoy watch snooze` may end two lines at once), then in Slack as it is now."""
        digest = await self._store.rewrite_line(self._scope, card.digest, uid, line)
        shown: dict[str, str] = {}
        # Two lines ended at once may reach Slack in either order: whoever updated last reads
        # the digest again, and shows it once more if a line changed meanwhile.
        while digest is not None and digest.states != shown:
            opened = datetime.fromtimestamp(digest.opened, UTC)
            message = digest_message(digest.refs, digest.states, opened)
            await self._update_all(digest.posts, self._face.marked(message))
            shown = digest.states
            digest = await self._store.digest(self._scope, card.digest)

    async def _keep(
        self, uid: str, card_id: str, now: datetime, card: Message, posts: tuple[CardPost, ...]
    ) -> None:
        text, blocks = fitted(*self._face.marked(card))
        story = [b for b in blocks if b.get("type") != "actions"]
        kept = Card(
            card_id=card_id,
            opened=now.timestamp(),
            posts=posts,
            text=text,
            blocks=json.dumps(story),
        )
        await self._store.put_card(self._scope, uid, kept)

    async def _post_all(self, message: Message, *, alert: bool = False) -> tuple[CardPost, ...]:
        """The message in each of the project's bound channels (an alert mentions the user
        group a channel's binding names, so that it reaches a person); where it went."""
        text, blocks = self._face.marked(message)
        groups = await self._book.notify_groups() if alert else {}
        posts = []
        for channel in await self._book.bound_channels(self._scope):
            group = groups.get(channel)
            mention = [section(f"<!subteam^{escape(group)}>")] if group else []
            said = f"<!subteam^{escape(group)}> {text}" if group else text
            answer = await self._calls.post(
                "watch", channel, fitted(said, None)[0], fitted_blocks([*mention, *blocks])
            )
            if answer.ok:
                posts.append(CardPost(channel=channel, ts=answer.ts))
        return tuple(posts)

    async def _update_all(self, posts: tuple[CardPost, ...], message: Message) -> None:
        text, blocks = fitted(*message)
        for post in posts:
            await self._calls.update("watch", post.channel, post.ts, text, blocks)
