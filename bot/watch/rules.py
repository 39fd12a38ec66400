"""When an endpoint's failing episode opens and ends: pure rules over two polls.

An episode opens when an active endpoint's failure rate reaches the threshold or its circuit
breaker is open, and ends only when the rate has fallen below the threshold less the
hysteresis and the breaker is no longer open or half-open, so that a rate hovering at the
threshold does not open a card at every other poll. A paused or disabled endpoint is never
failing: whatever it was, its episode ends there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.failure_rates import BreakerState, FailureRate, rate_of
from bot.models import Endpoint, EndpointStatus
from bot.watch.store import Seen


@dataclass(frozen=True)
class Thresholds:
    """Failure rates in percent: `alert` opens an episode, under `recovered` it ends."""

    alert: float
    recovered: float


class EventKind(StrEnum):
    FAILING = "failing"
    RECOVERED = "recovered"  # the rate fell back
    ENDED = "ended"  # a card's episode is over by the bot's own change (paused, re-enabled)
    OUTSIDE = "outside"  # paused or resumed outside the bot
    DISABLED = "disabled"  # Convoy made it inactive
    DELETED = "deleted"


@dataclass(frozen=True)
class WatchEvent:
    kind: EventKind
    endpoint: Endpoint
    rate: FailureRate
    was: str = ""  # the status seen before, for a change of status


def opens(rate: FailureRate, thresholds: Thresholds) -> bool:
    if rate.breaker is BreakerState.OPEN:
        return True
    return rate.percent is not None and rate.percent >= thresholds.alert


def still_failing(rate: FailureRate, thresholds: Thresholds) -> bool:
    if rate.breaker in (BreakerState.OPEN, BreakerState.HALF_OPEN):
        return True
    return rate.percent is not None and rate.percent >= thresholds.recovered


@dataclass(frozen=True)
class Poll:
    """One poll's view of one endpoint: what was seen before, and whether a change of
    status since then is the bot's own (`outside` False) or not."""

    before: Seen | None
    now: float  # epoch seconds
    snoozed: bool = False
    outside: bool = False


def assess(
    poll: Poll, endpoint: Endpoint, thresholds: Thresholds
) -> tuple[Seen, WatchEvent | None]:
    """What to remember of the endpoint now, and what to tell (if anything)."""
    before, rate = poll.before, rate_of(endpoint)
    status = endpoint.status.value
    changed = before is not None and before.status != status
    since = poll.now if before is None or changed else before.since
    was_failing = before is not None and before.failing
    remembered = Seen(status=status, since=since, rate=rate.percent, name=endpoint.label)
    if changed and poll.outside:
        # A person (or Convoy) changed it: that is the news; a failing episode starts afresh.
        kind = (
            EventKind.DISABLED if endpoint.status is EndpointStatus.INACTIVE else EventKind.OUTSIDE
        )
        return remembered, WatchEvent(kind, endpoint, rate, before.status if before else "")
    if changed and before is not None and before.status == EndpointStatus.INACTIVE.value:
        return remembered, WatchEvent(EventKind.ENDED, endpoint, rate, before.status)
    if poll.snoozed:
        # Silent while snoozed (its card was closed when it was snoozed); if it still fails
        # when the snooze ends, that is a new episode with a new card.
        return remembered, None
    if endpoint.status is not EndpointStatus.ACTIVE:
        failing = False
    elif was_failing:
        failing = still_failing(rate, thresholds)
    else:
        failing = opens(rate, thresholds)
    seen = remembered.model_copy(update={"failing": failing})
    if failing and not was_failing:
        return seen, WatchEvent(EventKind.FAILING, endpoint, rate)
    if was_failing and not failing:
        healed = endpoint.status is EndpointStatus.ACTIVE
        return seen, WatchEvent(EventKind.RECOVERED if healed else EventKind.ENDED, endpoint, rate)
    return seen, None


def deleted(before: Seen, uid: str) -> WatchEvent:
    """An endpoint seen before and not listed now."""
    gone = Endpoint(uid=uid, name=before.name)
    return WatchEvent(EventKind.DELETED, gone, rate_of(gone), before.status)
