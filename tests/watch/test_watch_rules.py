"""The failing episode's rules: when it opens, when it ends, and what never gets a card."""

from __future__ import annotations

import pytest

from bot.models import Endpoint, EndpointStatus
from bot.watch.rules import EventKind, Poll, Thresholds, assess
from bot.watch.store import Seen

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

RULES = Thresholds(alert=50.0, recovered=40.0)
NOW = 1_800_000_000.0


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
    seen, event = assess(Poll(None, NOW), endpoint(rate, state, status), RULES)

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
    _, event = assess(Poll(opened(), NOW), endpoint(rate, state, status), RULES)

    assert (event.kind if event else None) is kind


def test_a_snoozed_endpoint_is_silent_and_starts_afresh() -> None:
    """Snoozed: no event, and not in an episode, so a card comes once the snooze is over."""
    seen, event = assess(Poll(opened(), NOW, snoozed=True), endpoint(90.0, "open"), RULES)

    assert event is None
    assert not seen.failing


@pytest.mark.parametrize(
    ("was", "status", "kind"),
    [
        ("active", "paused", EventKind.OUTSIDE),
        ("paused", "active", EventKind.OUTSIDE),
        ("active", "inactive", EventKind.DISABLED),
        ("paused", "inactive", EventKind.DISABLED),
    ],
)
def test_a_change_outside_the_bot_is_news_and_ends_any_episode(
    was: str, status: str, kind: EventKind
) -> None:
    """A status the bot did not set: told as such (disabled when Convoy made it inactive);
    the failing episode starts afresh, and the new status is dated now."""
    before = Seen(status=was, since=NOW - 600, failing=was == "active")

    seen, event = assess(Poll(before, NOW, outside=True), endpoint(90.0, "open", status), RULES)

    assert event is not None
    assert (event.kind, event.was) == (kind, was)
    assert (seen.failing, seen.since) == (False, NOW)


def test_the_bots_own_re_enable_ends_the_disabled_card_quietly() -> None:
    """inactive -> active by the bot: the card's episode ends, no outside note."""
    before = Seen(status="inactive", since=NOW - 600)

    _, event = assess(Poll(before, NOW), endpoint(0.0, "closed", "active"), RULES)

    assert event is not None
    assert event.kind is EventKind.ENDED
