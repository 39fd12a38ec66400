"""Where changes are told: the channels bound to a project hear its changes too, and where
a change was told is kept, so later messages about it (a timer's reminder and report, a
write's settled result) go in that message's thread, and the copies in bound channels are
updated with the original. Once a change is told, its write leaves the in-flight journal."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta
from typing import Any, Protocol

from bot import redis_keys
from bot.change.holds import HoldStore
from bot.change.inflight import InFlightJournal
from bot.change.model import Change
from bot.errors import AccessStoreUnavailable
from bot.models import Hold
from bot.store import Store, failing_closed

COPIES_TTL = timedelta(days=8)  # as long as anyone scrolls back to a message to update it


class BoundChannels(Protocol):
    """Which channels are bound to which project (bot.projects.bindings keeps them)."""

    async def channels_of(self, scope: str) -> list[str]: ...

    async def notify_groups(self) -> dict[str, str]:
        """channel id -> the user group its cards mention."""
        ...


class MessageBook:
    """Closes a told change's journal record; remembers a timed pause's or a doubt's
    message; knows a project's bound channels and the copies posted there."""

    def __init__(
        self,
        holds: HoldStore,
        journal: InFlightJournal,
        bindings: BoundChannels,
        redis: Store,
    ) -> None:
        self._holds = holds
        self._journal = journal
        self._bindings = bindings
        self._redis = redis

    async def notify_groups(self) -> dict[str, str]:
        """The user group each bound channel's alerts mention (none if Redis fails: the
        alert still goes out)."""
        try:
            return await self._bindings.notify_groups()
        except AccessStoreUnavailable:
            return {}

    async def bound_channels(self, scope: str) -> list[str]:
        """The channels a project's changes are also told in (none if Redis fails)."""
        try:
            return await self._bindings.channels_of(scope)
        except AccessStoreUnavailable:
            return []

    async def copied(self, channel_id: str, ts: str, copies: list[tuple[str, str]]) -> None:
        """Copies of a message were posted in these (channel, ts): update them with it."""
        if not copies:
            return
        key = redis_keys.announcement_copies(channel_id, ts)
        with contextlib.suppress(AccessStoreUnavailable), failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.sadd(key, *(f"{c}|{t}" for c, t in copies))
                pipe.expire(key, COPIES_TTL)
                await pipe.execute()

    async def copies_of(self, channel_id: str, ts: str) -> list[tuple[str, str]]:
        found: set[bytes | str] = set()  # str: the client decodes replies
        with contextlib.suppress(AccessStoreUnavailable), failing_closed():
            found = await self._redis.smembers(redis_keys.announcement_copies(channel_id, ts))
        pairs = [str(member).partition("|") for member in found]
        return sorted((channel, copy_ts) for channel, _, copy_ts in pairs)

    async def told(
        self, change: Change, channel_id: str, message_ts: str, blocks: list[dict[str, Any]]
    ) -> None:
        """Call once people were told (or telling them failed for good), with the message.

        If Redis fails here only the thread is lost, or the change is told once more by a
        settling replica: never lost."""
        with contextlib.suppress(AccessStoreUnavailable):
            hold = change.hold
            if message_ts and hold is not None and hold.resume_at:
                await self._holds.attach_message(hold, channel_id, message_ts, json.dumps(blocks))
            record = change.in_flight
            if record is None:
                return
            if change.in_doubt:
                await self._journal.note_told(record, channel_id, message_ts)
            else:
                await self._journal.finish(record)

    async def reminded(self, hold: Hold, reminder_ts: str) -> None:
        """Where a timed pause's reminder went: Extend or Keep paused re-times it too."""
        with contextlib.suppress(AccessStoreUnavailable):
            await self._holds.attach_reminder(hold, reminder_ts)
