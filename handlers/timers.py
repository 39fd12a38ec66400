"""What the scheduler says in Slack: auto-resumes and reminders, in the pause's thread."""

from __future__ import annotations

import logging
from typing import Any

from bot.change.message_book import MessageBook
from bot.clock import Clock
from bot.models import Hold
from bot.slack_client import SlackCalls
from bot.timers.auto_resume import AutoResume
from handlers.announcer import Announcer, Metadata, worth_announcing
from handlers.blocks.answers import unchanged_message
from handlers.blocks.changes import change_announcement, retry_actions
from handlers.blocks.kit import Message, fitted, note
from handlers.blocks.timers import (
    auto_resume_failed_message,
    auto_resume_skipped_message,
    auto_resumed_message,
    reminder_message,
)
from handlers.replies import Posted

logger = logging.getLogger(__name__)


class ThreadPoster:
    """Posts outside any request's context: in the thread of an earlier message, or to the
    person concerned, as a direct message, when the channel cannot be reached."""

    def __init__(self, calls: SlackCalls) -> None:
        self._calls = calls

    async def post(
        self,
        hold: Hold,
        message: Message,
        *,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        """In the hold's thread (or to the pauser directly)."""
        return await self.post_in(
            hold.channel_id,
            hold.message_ts,
            hold.actor,
            message,
            broadcast=broadcast,
            metadata=metadata,
        )

    async def post_in(
        self,
        channel_id: str,
        thread_ts: str,
        fallback_user: str,
        message: Message,
        *,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Posted:
        """In a channel's thread; to `fallback_user` directly when the channel fails."""
        text, blocks = fitted(*message)
        for channel, thread in ((channel_id, thread_ts), (fallback_user, "")):
            if not channel:
                continue
            answer = await self._calls.post(
                "timer",
                channel,
                text,
                blocks,
                thread_ts=thread or None,
                reply_broadcast=broadcast and bool(thread),
                metadata=metadata,
            )
            if answer.ok:
                return Posted(channel, answer.ts, shown=True, thread_ts=thread)
        return Posted("", "", shown=False)

    async def update(self, channel_id: str, ts: str, message: Message) -> None:
        """Rewrite a message the bot posted earlier (an approval request, once settled)."""
        text, blocks = fitted(*message)
        await self._calls.update("update", channel_id, ts, text, blocks)


class TimerReports:
    """The two callbacks the scheduler takes: an auto-resume's report, and a reminder."""

    def __init__(
        self, announcer: Announcer, poster: ThreadPoster, book: MessageBook, clock: Clock
    ) -> None:
        self._announcer = announcer
        self._poster = poster
        self._book = book  # where the reminder went: Extend and Keep paused re-time it
        self._clock = clock

    async def on_resumed(self, result: AutoResume) -> None:
        hold, change = result.hold, result.change
        if hold is None:
            return  # a timer of a pause that already ended: nothing to say
        if result.failed and result.retry_at is not None:
            failed = auto_resume_failed_message(
                hold, result.failed, result.retry_at, result.attempt
            )
            await self._poster.post(hold, (failed, []))
            return
        if change is None:
            await self._poster.post(hold, (auto_resume_skipped_message(hold, result.skipped), []))
            return
        at = self._clock.now()
        if change.changed:
            story = auto_resumed_message(hold, change, at)
        else:  # did not go as asked: said as loudly as a change that did
            story = change_announcement(change, hold.actor, hold.reason, at)

        def for_people(summary: str) -> Message:
            if not worth_announcing(change):
                return unchanged_message(change), []
            text, blocks = story
            blocks = [*blocks, note(summary)]
            if change.resumed is not None and change.resumed.discarded:
                blocks.append(retry_actions(change.endpoint, change.resumed))
            return text, blocks

        async def in_thread(message: Message, metadata: Metadata) -> Posted:
            broadcast = worth_announcing(change)
            return await self._poster.post(hold, message, broadcast=broadcast, metadata=metadata)

        await self._announcer.announce(
            change, webhook=story, people=for_people, deliver=in_thread, kind="auto-resume"
        )

    async def on_reminder(self, hold: Hold) -> None:
        posted = await self._poster.post(hold, reminder_message(hold, self._clock.now()))
        if posted.ts and posted.channel_id == hold.channel_id:
            await self._book.reminded(hold, posted.ts)
