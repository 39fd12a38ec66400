"""The failing episode's rules: when it opens, when it ends, and what never gets a card."""

from __future__ import annotations

import pytest

from bot.models import Endpoint, EndpointStatus
from bot.watch_rules import EventKind, Thresholds, assess
from bot.watch_store import Seen

RULES = Thresholds(alert=50.0, recovered=40.0)


def endpoint(rate: float | None, state: str | None = "closed", status: str = "active") -> Endpoint:
    return Endpoint(
        uid="u", name="n", status=EndpointStatus(status), failure_rate=rate, cb_state=state
    )


def opened() -> Seen:
    return Seen(status="active", failing=True, rate=80.0)


@pytest.mark.parametrize(
    ("rate", "state", "status", "kind"),
    [
        (50.0, "closed", "active", EventKind.FAILING),  # the threshold itself opens
        (49.9, "closed", "active", None),
        (0.0, "open", "active", EventKind.FAILING),  # an open breaker opens, whatever the rate
        (90.0, "open", "paused", None),  # a paused endpoint never gets a card
        (90.0, "open", "inactive", None),
        (None, None, "active", None),  # no rate known: nothing to say
    ],
)
def test_what_opens_an_episode(
    rate: float | None, state: str | None, status: str, kind: EventKind | None
) -> None:
    """From nothing seen: the threshold or an open breaker opens one, on active endpoints."""
    seen, event = assess(None, endpoint(rate, state, status), RULES, snoozed=False)

    assert (event.kind if event else None) is kind
    assert seen.failing is (kind is EventKind.FAILING)


@pytest.mark.parametrize(
    ("rate", "state", "status", "kind"),
    [
        (45.0, "closed", "active", None),  # between recovered and alert: still failing
        (0.0, "half-open", "active", None),  # half-open keeps it open
        (39.9, "closed", "active", EventKind.RECOVERED),
        (90.0, "open", "paused", EventKind.ENDED),  # paused (by anyone): over, not healed
        (90.0, "open", "inactive", EventKind.ENDED),
        (90.0, "open", "active", None),  # no repeat while it lasts
    ],
)
def test_what_ends_an_episode(
    rate: float | None, state: str | None, status: str, kind: EventKind | None
) -> None:
    """An open episode ends below threshold - hysteresis, or when the endpoint stops."""
    _, event = assess(opened(), endpoint(rate, state, status), RULES, snoozed=False)

    assert (event.kind if event else None) is kind


def test_a_snoozed_endpoint_is_silent_and_starts_afresh() -> None:
    """Snoozed: no event, and not in an episode, so a card comes once the snooze is over."""
    seen, event = assess(opened(), endpoint(90.0, "open"), RULES, snoozed=True)

    assert event is None
    assert not seen.failing
