"""Failure rates in one unit, a percentage (0-100), whichever way Convoy reports them.

Convoy has two: its circuit breaker's `failure_rate` is a percentage already (failures /
requests x 100, with `cb_state` beside it), while `period_failure_rate`, on an endpoint or
from `GET .../endpoints/period-failure-rates`, is a fraction from 0 to 1. Every rate the bot
shows or compares passes through here, so a 25% rate never shows as 0.2%.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.models import Endpoint


class RateSource(StrEnum):
    """Where a failure rate came from."""

    BREAKER = "circuit breaker"
    DELIVERIES = "deliveries"  # Convoy's period failure rate: failed / counted deliveries
    NONE = ""


class BreakerState(StrEnum):
    """Convoy's circuit breaker states ("" when the breaker is off or has no sample)."""

    OPEN = "open"
    HALF_OPEN = "half-open"
    CLOSED = "closed"
    NONE = ""


@dataclass(frozen=True)
class FailureRate:
    """A failure rate as a percentage (None when unknown), where it came from, and the
    breaker's state."""

    percent: float | None
    source: RateSource
    breaker: BreakerState = BreakerState.NONE

    def describe(self) -> str:
        """`25.0% (circuit breaker: open)`, `25.0% (deliveries)`, or `n/a`."""
        shown = "n/a" if self.percent is None else f"{self.percent:.1f}%"
        if self.source is RateSource.NONE:
            return shown
        state = f": {self.breaker.value}" if self.breaker is not BreakerState.NONE else ""
        return f"{shown} ({self.source.value}{state})"


def from_fraction(fraction: float) -> float:
    """A period failure rate (0-1) as a percentage."""
    return round(fraction * 100, 4)


def breaker_state(value: str | None) -> BreakerState:
    try:
        return BreakerState(value or "")
    except ValueError:
        return BreakerState.NONE  # a state this bot does not know says nothing


def rate_of(endpoint: Endpoint) -> FailureRate:
    """The endpoint's own failure rate: the breaker's when it has one, else its period rate."""
    breaker = breaker_state(endpoint.cb_state)
    if endpoint.failure_rate is not None or breaker is not BreakerState.NONE:
        return FailureRate(endpoint.failure_rate, RateSource.BREAKER, breaker)
    if endpoint.period_failure_rate is not None:
        return FailureRate(from_fraction(endpoint.period_failure_rate), RateSource.DELIVERIES)
    return FailureRate(None, RateSource.NONE)


class PeriodRate(BaseModel):
    """One entry of `GET .../endpoints/period-failure-rates` (Convoy's
    models.EndpointPeriodFailureRate): its rate is a fraction, absent without deliveries."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    uid: str
    period_failure_rate: float | None = None
    success_count: int | None = None
    failure_count: int | None = None
    retry_count: int | None = None

    @property
    def percent(self) -> float | None:
        rate = self.period_failure_rate
        return None if rate is None else from_fraction(rate)
