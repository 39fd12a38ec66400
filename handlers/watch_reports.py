"""What the watcher saw, told in one project: the bot's own pauses that a change outside the
bot ended are settled first (their timers cancelled, their announcements rewritten), then
the cards and notes go to the bound channels."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from bot.errors import BotError
from bot.watch.round import Trouble
from bot.watch.rules import EventKind, WatchEvent
from handlers.blocks.kit import without_buttons
from handlers.blocks.watch import outside_line, watch_trouble_message
from handlers.replies import Posted
from handlers.runtime import ProjectRuntime

logger = logging.getLogger(__name__)

# Changes after which a pause the bot holds may be over.
SETTLING = (EventKind.OUTSIDE, EventKind.DISABLED, EventKind.DELETED)


async def tell_watch(
    runtime: ProjectRuntime, events: list[WatchEvent], trouble: Trouble | None, now: datetime
) -> None:
    for event in events:
        if event.kind in SETTLING:
            await _settle_hold(runtime, event, now)
    await runtime.watch_cards.tell(events, now)
    if trouble is not None:
        await runtime.watch_cards.note(watch_trouble_message(trouble, now))


async def _settle_hold(runtime: ProjectRuntime, event: WatchEvent, now: datetime) -> None:
    """End the bot's hold of the endpoint if Convoy says its pause is over, so no timer
    later resumes what a person paused by hand, and `/convoy paused` is true at once."""
    try:
        hold = await runtime.cases.paused.settle_outside(event.endpoint.uid)
    except BotError as exc:
        logger.warning("settling a hold after a change outside the bot failed: %s", exc.message)
        return
    if hold is None or not (hold.channel_id and hold.message_ts):
        return
    line = outside_line(event, now)
    story = json.loads(hold.announcement) if hold.announcement else []
    message = (f"{hold.name}: {line}", without_buttons(story, line))
    await runtime.watch_cards.rewrite(hold.channel_id, hold.message_ts, message)
    await runtime.copies.update(Posted(hold.channel_id, hold.message_ts, shown=True), message)
