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
from bot.watch_store import Seen


@dataclass(frozen=True)
class Thresholds:
    """Failure rates in percent: `alert` opens an episode, under `recovered` it ends."""

    alert: float
    recovered: float


class EventKind(StrEnum):
    FAILING = "failing"
    RECOVERED = "recovered"  # the rate fell back
    ENDED = "ended"  # no longer active (paused, disabled): not failing any more, not healed


@dataclass(frozen=True)
class WatchEvent:
    kind: EventKind
    endpoint: Endpoint
    rate: FailureRate


def opens(rate: FailureRate, thresholds: Thresholds) -> bool:
    if rate.breaker is BreakerState.OPEN:
        return True
    return rate.percent is not None and rate.percent >= thresholds.alert


def still_failing(rate: FailureRate, thresholds: Thresholds) -> bool:
    if rate.breaker in (BreakerState.OPEN, BreakerState.HALF_OPEN):
        return True
    return rate.percent is not None and rate.percent >= thresholds.recovered


def assess(
    before: Seen | None, endpoint: Endpoint, thresholds: Thresholds, *, snoozed: bool
) -> tuple[Seen, WatchEvent | None]:
    """What to remember of the endpoint now, and what to tell (if anything)."""
    rate = rate_of(endpoint)
    was_failing = before is not None and before.failing
    if snoozed:
        # Silent while snoozed (its card was closed when it was snoozed); if it still fails
        # when the snooze ends, that is a new episode with a new card.
        return Seen(status=endpoint.status.value, rate=rate.percent), None
    if endpoint.status is not EndpointStatus.ACTIVE:
        failing = False
    elif was_failing:
        failing = still_failing(rate, thresholds)
    else:
        failing = opens(rate, thresholds)
    seen = Seen(status=endpoint.status.value, failing=failing, rate=rate.percent)
    if failing and not was_failing:
        return seen, WatchEvent(EventKind.FAILING, endpoint, rate)
    if was_failing and not failing:
        healed = endpoint.status is EndpointStatus.ACTIVE
        return seen, WatchEvent(EventKind.RECOVERED if healed else EventKind.ENDED, endpoint, rate)
    return seen, None
