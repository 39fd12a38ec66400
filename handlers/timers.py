"""What the scheduler says in Slack: auto-resumes and reminders, in the pause's thread."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.change.message_book import MessageBook
from bot.clock import Clock
from bot.logs import describe_failure
from bot.metrics import Metrics
from bot.models import Hold
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

    def __init__(self, slack: AsyncWebClient, metrics: Metrics) -> None:
        self._slack = slack
        self._metrics = metrics

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
            try:
                response = await self._slack.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=blocks or None,
                    thread_ts=thread or None,
                    reply_broadcast=broadcast and bool(thread),
                    unfurl_links=False,
                    metadata=metadata,
                )
                self._metrics.slack_posts.labels("timer", "ok").inc()
                ts = str(response.get("ts") or "")
                return Posted(channel, ts, shown=True, thread_ts=thread)
            except (SlackApiError, ClientError, TimeoutError) as exc:
                self._metrics.slack_posts.labels("timer", "failed").inc()
                logger.warning("timer post failed: %s", describe_failure(exc))
        return Posted("", "", shown=False)

    async def update(self, channel_id: str, ts: str, message: Message) -> None:
        """Rewrite a message the bot posted earlier (an approval request, once settled)."""
        text, blocks = fitted(*message)
        try:
            await self._slack.chat_update(channel=channel_id, ts=ts, text=text, blocks=blocks)
            self._metrics.slack_posts.labels("update", "ok").inc()
        except (SlackApiError, ClientError, TimeoutError) as exc:
            self._metrics.slack_posts.labels("update", "failed").inc()
            logger.warning("chat.update failed: %s", describe_failure(exc))


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
