"""What the scheduler says when it settles a write whose answer was lost (bot.timers.settling)."""

from __future__ import annotations

from bot.clock import Clock
from bot.timers.settling import Settled
from handlers.announcer import Announcer, Metadata
from handlers.blocks.changes import change_announcement, channel_announcement
from handlers.blocks.kit import Message
from handlers.blocks.requests import decision_message
from handlers.replies import Posted
from handlers.timers import ThreadPoster


class SettledReports:
    """The settled result goes where the change began: in the thread of its "not confirmed"
    report (broadcast to the channel), to the endpoint's webhook, and onto its request."""

    def __init__(self, announcer: Announcer, poster: ThreadPoster, clock: Clock) -> None:
        self._announcer = announcer
        self._poster = poster
        self._clock = clock

    async def on_settled(self, settled: Settled) -> None:
        record, change, request = settled.record, settled.change, settled.request
        at = self._clock.now()

        def for_people(summary: str) -> Message:
            return channel_announcement(
                change, record.actor, record.reason, at, summary, approver_id=record.approver
            )

        async def in_thread(message: Message, metadata: Metadata) -> Posted:
            return await self._poster.post_in(
                record.channel_id,
                record.message_ts,
                record.actor,
                message,
                broadcast=True,
                metadata=metadata,
            )

        await self._announcer.announce(
            change,
            webhook=change_announcement(change, record.actor, record.reason, at, record.approver),
            people=for_people,
            deliver=in_thread,
        )
        if request is not None and request.message_ts:
            message = self._announcer.face.marked(
                decision_message(request, request.state, change, at)
            )
            await self._poster.update(request.channel_id, request.message_ts, message)
