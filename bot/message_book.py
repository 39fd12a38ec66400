"""A change has been told: its write leaves the in-flight journal, and where it was told is
kept, so later messages about it (a timer's reminder and report, a write's settled result)
go in that message's thread."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from bot.changes import Change
from bot.errors import AccessStoreUnavailable
from bot.holds import HoldStore
from bot.inflight import InFlightJournal
from bot.models import Hold


class MessageBook:
    """Closes a told change's journal record; remembers a timed pause's or a doubt's message."""

    def __init__(self, holds: HoldStore, journal: InFlightJournal) -> None:
        self._holds = holds
        self._journal = journal

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
