"""Every message of one pause, rewritten together: its announcement, the copies of it in the
project's bound channels, and its reminder.

This is the one place that decides which of them a Resume, an Extend, a Keep paused or a
change outside the bot rewrites, and how, so that no message keeps promising a time or
offering a button that no longer holds.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.models import Hold
from bot.slack_client import SlackCalls
from handlers.announcer import BoundCopies
from handlers.blocks.kit import Message, fitted, without_buttons
from handlers.blocks.timers import reminder_message, retimed
from handlers.click import Click
from handlers.replies import Posted, Replies


class PauseMessages:
    """Rewrites a pause's messages when the pause ends or its timer changes."""

    def __init__(self, calls: SlackCalls, copies: BoundCopies) -> None:
        self._calls = calls
        self._copies = copies

    async def resumed(self, replies: Replies, click: Click, line: str) -> None:
        """Resume was clicked on the announcement: it keeps its story, loses its buttons and
        says who resumed it; its copies in bound channels say so too."""
        message = (click.text, click.without_buttons(line))
        posted = await replies.update(click.message_ts, *message)
        await self._copies.update(posted, message)

    async def retimed(
        self, replies: Replies, click: Click, hold: Hold, note: str, now: datetime
    ) -> None:
        """Extend or Keep paused, clicked on the announcement or on the reminder: both (and
        the announcement's copies) show the timer as it is now."""
        announced = hold.message_ts or ("" if click.in_thread else click.message_ts)
        if announced:
            if hold.announcement and announced == hold.message_ts:
                story = json.loads(hold.announcement)  # as posted: the click may be on the reminder
            else:
                story = click.message.get("blocks", [])
            channel = hold.channel_id or click.caller.channel_id
            message = (note, retimed(story, hold, now, note))
            await self._rewrite(channel, announced, message)
        if hold.reminder_ts:
            reminder = reminder_message(hold, now, note)
            await self._rewrite(hold.channel_id, hold.reminder_ts, reminder, copied=False)
        elif click.in_thread:  # a reminder the bot could not record: the clicked copy is it
            text, blocks = reminder_message(hold, now, note)
            await replies.update(click.message_ts, text, blocks)

    async def ended_outside(self, hold: Hold, line: str) -> None:
        """The pause was ended outside the bot (seen by the watch): its announcement loses its
        buttons, with what was seen, and so do its copies."""
        if not (hold.channel_id and hold.message_ts):
            return
        story = json.loads(hold.announcement) if hold.announcement else []
        await self._rewrite(
            hold.channel_id, hold.message_ts, (f"{hold.name}: {line}", without_buttons(story, line))
        )

    async def _rewrite(
        self, channel: str, ts: str, message: Message, *, copied: bool = True
    ) -> None:
        """One message of the pause, and (an announcement's) copies in bound channels."""
        text, blocks = fitted(*message)
        await self._calls.update("update", channel, ts, text, blocks)
        if copied:
            await self._copies.update(Posted(channel, ts, shown=True), message)
