"""`/convoy watch snooze|off|on`: operators tune the watch for one endpoint, by name.

Polls run in scheduler replicas in this process with a moved clock (tests/watch/helpers.py);
commands go, signed, to the session's bot.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.access.roles import Role
from bot.settings import Settings
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.helpers import VIEWER, reply_to
from tests.slack_requests import SlackSender
from tests.watch.helpers import BOUND, MINUTE, cards, failing, polls, updates_of


def test_snooze_by_command_closes_the_open_card_and_silences_it_for_that_long(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
) -> None:
    """`watch snooze orders-api 2h`: the open card says so in both channels, no card for two
    hours though it still fails, a new one after; nothing written to Convoy."""
    failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    first = cards(slack)

    sent = sender.command(operator, "watch snooze orders-api 2h", channel_id=BOUND)

    assert "*orders-api*" in reply_to(slack, sent.token)[0]
    assert "Snoozed by" in reply_to(slack, sent.token)[0]
    for card in first:
        (update,) = updates_of(slack, card)
        assert "Snoozed by" in str(update["blocks"])
    polls(watch_settings, convoy, MINUTE, 60 * MINUTE, 119 * MINUTE)
    assert len(cards(slack)) == 2
    polls(watch_settings, convoy, 121 * MINUTE)
    assert len(cards(slack)) == 4
    assert convoy.writes() == []


def test_watch_off_and_on_and_what_a_viewer_may_do(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
    grant: Callable[..., None],
) -> None:
    """`watch off` keeps an endpoint's cards away whatever its rate, and `/convoy watch`
    says it is not watched; `watch on` brings its card back; a viewer may look, not tune;
    a malformed or ambiguous command changes nothing."""
    grant(VIEWER, Role.VIEWER)
    uid = failing(convoy)
    failing(convoy, "orders-api-eu")

    off = sender.command(operator, f"watch off {uid}", channel_id=BOUND)
    assert "Not watched any more" in reply_to(slack, off.token)[0]
    refused = sender.command(VIEWER, f"watch on {uid}", channel_id=BOUND)
    assert "operator" in reply_to(slack, refused.token)[0]
    vague = sender.command(operator, "watch off orders", channel_id=BOUND)
    assert "Several endpoints match" in reply_to(slack, vague.token)[0]
    bad = sender.command(operator, "watch snooze orders-api soon", channel_id=BOUND)
    assert "Say for how long" in reply_to(slack, bad.token)[0]
    polls(watch_settings, convoy, timedelta(0), MINUTE)
    assert [c.text.split(" is failing")[0] for c in cards(slack)] == ["orders-api-eu"] * 2
    shown = sender.command(VIEWER, "watch", channel_id=BOUND)
    assert f"• `{uid}` not watched" in reply_to(slack, shown.token)[0]

    on = sender.command(operator, f"watch on {uid}", channel_id=BOUND)
    assert "Watched again" in reply_to(slack, on.token)[0]
    polls(watch_settings, convoy, 2 * MINUTE)
    assert [c.text.split(" is failing")[0] for c in cards(slack)].count("orders-api") == 2


def test_a_partial_name_or_a_huge_snooze_is_answered_plainly_and_changes_nothing(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
) -> None:
    """Issue 21: `watch snooze orders 1h` with one endpoint whose name merely contains it
    asks "did you mean" (not "Several endpoints match"); `watch snooze orders-api
    1000000000d` says the longest snooze (item 6); neither silences a card."""
    uid = failing(convoy)

    partial = sender.command(operator, "watch snooze orders 1h", channel_id=BOUND)
    huge = sender.command(operator, "watch snooze orders-api 1000000000d", channel_id=BOUND)
    said = reply_to(slack, partial.token)[0]
    too_long = reply_to(slack, huge.token)[0]
    polls(watch_settings, convoy, timedelta(0))

    assert "No endpoint is named `orders`; did you mean `orders-api`" in said, said
    assert uid in said
    assert "Several endpoints" not in said
    assert "A snooze lasts at most 30d" in too_long, too_long
    assert len(cards(slack)) == 2, "still watched: its card came in both bound channels"
