"""What the watcher saw, told in one project: the bot's own pauses that a change outside the
bot ended are settled first (their timers cancelled, their messages rewritten), then the
cards and notes go to the bound channels."""

from __future__ import annotations

import logging
from datetime import datetime

from bot.commands.paused_list import PausedList
from bot.errors import BotError
from bot.watch.round import Trouble
from bot.watch.rules import EventKind, WatchEvent
from handlers.blocks.watch import outside_line, watch_trouble_message
from handlers.pause_messages import PauseMessages
from handlers.watch_cards import WatchCards

logger = logging.getLogger(__name__)

# Changes after which a pause the bot holds may be over.
SETTLING = (EventKind.OUTSIDE, EventKind.DISABLED, EventKind.DELETED)


async def tell_watch(
    events: list[WatchEvent],
    trouble: Trouble | None,
    now: datetime,
    *,
    paused: PausedList,
    cards: WatchCards,
    messages: PauseMessages,
) -> None:
    for event in events:
        if event.kind in SETTLING:
            await _settle_hold(event, now, paused, messages)
    await cards.tell(events, now)
    if trouble is not None:
        await cards.note(watch_trouble_message(trouble, now))


async def _settle_hold(
    event: WatchEvent, now: datetime, paused: PausedList, messages: PauseMessages
) -> None:
    """End the bot's hold of the endpoint if Convoy says its pause is over, so no timer
    later resumes what a person paused by hand, and `/convoy paused` is true at once."""
    try:
        hold = await paused.settle_outside(event.endpoint.uid)
    except BotError as exc:
        logger.warning("settling a hold after a change outside the bot failed: %s", exc.message)
        return
    if hold is not None:
        await messages.ended_outside(hold, outside_line(event, now))
