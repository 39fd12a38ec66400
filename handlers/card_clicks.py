"""Clicks on the watcher's failing card: Pause, Pause 30m, Snooze 1h.

Each runs the project's use case (the role is checked at click time), then the card is
rewritten in every bound channel to say who did what, so that nobody clicks it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.approvals.results import ApprovalAsked
from bot.change.model import Change, Outcome
from bot.commands.changing import Changing
from bot.commands.results import ChangeResult, Choice
from bot.models import Action
from bot.watch.actions import CARD_REASON, CardPause, Snoozing, closes_the_card
from handlers import ids
from handlers.blocks.watch import (
    already_paused_card_line,
    asked_from_card_line,
    paused_from_card_line,
    snoozed_line,
    unsettled_card_line,
)
from handlers.buttons import CardValue
from handlers.click import Click
from handlers.outcomes import REQUEST_NOT_POSTED, Reporter
from handlers.replies import Replies
from handlers.watch_cards import WatchCards

TIMED = {ids.WATCH_PAUSE_30M: timedelta(minutes=30)}
SNOOZE_FOR = timedelta(hours=1)
REENABLE_REASON = "from the disabled card"


async def pause(
    replies: Replies,
    click: Click,
    *,
    card_pause: CardPause,
    reporter: Reporter,
    cards: WatchCards,
) -> str:
    """Pause (or, from Pause 30m, pause for 30 minutes) the card's endpoint."""
    value = CardValue.decode(click.value)
    user_id, duration = click.caller.user_id, TIMED.get(click.action_id)
    result = await card_pause.pause(click.caller, value.uid, value.card, duration)
    outcome = await reporter.report(replies, result, user_id, CARD_REASON)
    if outcome == REQUEST_NOT_POSTED:
        await card_pause.give_back(value.card)  # withdrawn: nobody could decide it
        return outcome
    if closes_the_card(result):
        minutes = int(duration.total_seconds() // 60) if duration else None
        line = card_line(result, user_id, minutes, reporter.now())
        await cards.close(value.uid, line, value.card)
    return outcome


def card_line(
    result: ChangeResult | Choice, user_id: str, minutes: int | None, now: datetime
) -> str:
    """What the card says once a Pause click has closed it."""
    if isinstance(result, ApprovalAsked):
        return asked_from_card_line(user_id, now)
    if isinstance(result, Change) and result.changed:
        return paused_from_card_line(user_id, minutes, now)
    if isinstance(result, Change) and result.outcome is Outcome.ALREADY_PAUSED:
        return already_paused_card_line(user_id, now)
    return unsettled_card_line(user_id, now)


async def reenable(
    replies: Replies, click: Click, *, changing: Changing, reporter: Reporter
) -> str:
    """Re-enable the endpoint Convoy disabled: as `/convoy resume`, which asks to confirm
    first (and makes a requester's click an approval request)."""
    value = CardValue.decode(click.value)
    result = await changing.change(click.caller, Action.RESUME, value.uid, REENABLE_REASON)
    return await reporter.report(replies, result, click.caller.user_id, REENABLE_REASON)


async def snooze(replies: Replies, click: Click, *, snoozing: Snoozing, cards: WatchCards) -> str:
    """No failing card for this endpoint for an hour; this one says so."""
    value = CardValue.decode(click.value)
    user_id = click.caller.user_id
    until = await snoozing.snooze(user_id, value.uid, SNOOZE_FOR)
    await cards.close(value.uid, snoozed_line(user_id, until), value.card)
    return "snoozed"
