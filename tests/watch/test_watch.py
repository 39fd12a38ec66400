"""The watcher: failing cards in the bound channels, their buttons, and Convoy's budget.

Polls run in scheduler replicas built in this process (as `serve` builds them) with a clock the
test moves, on the session's Redis, fake Convoy and fake Slack; clicks go, signed, to the
session's bot, whose own watch is off (tests/harness.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
import redis

from bot import redis_keys
from bot.access.roles import Role
from bot.settings import Settings
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import ADMIN, CONVOY_KEY, BotProcess, eventually, wait_until_idle
from tests.helpers import (
    BUSY,
    OPERATOR,
    REQUESTER,
    VIEWER,
    across_shards,
    button,
    buttons,
    message,
    metric,
    reply_to,
)
from tests.replicas import replicas
from tests.slack_requests import SlackSender
from tests.watch.helpers import (
    BOUND,
    MINUTE,
    OTHER_BOUND,
    cards,
    click_card,
    failing,
    polls,
    updates_of,
)


def test_failing_endpoint_gets_one_card_per_bound_channel_and_no_repeat(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """A failing endpoint: one card in each bound channel with Pause, Pause 30m and Snooze
    1h; three more polls while it still fails post nothing; one list call per poll."""
    failing(convoy)
    convoy.add_endpoint("healthy-api")

    listed = polls(watch_settings, convoy, timedelta(0), MINUTE, 2 * MINUTE, 3 * MINUTE)

    assert listed == [1, 1, 1, 1]
    posted = cards(slack)
    assert sorted(c.payload["channel"] for c in posted) == sorted([BOUND, OTHER_BOUND])
    card = posted[0]
    assert "*orders-api*" in card.text
    assert "80.0% (circuit breaker: open)" in card.text
    assert "Host: `hooks.acme.test`" in card.text
    assert "/in/secret" not in card.text
    assert [b["text"]["text"] for b in buttons(card)] == ["Pause", "Pause 30m", "Snooze 1h"]
    assert convoy.writes() == []


def test_recovery_updates_the_same_card_and_hovering_does_not_flap(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Under the threshold but above threshold - hysteresis the episode stays open; below it
    the card (in every channel) says it recovered and loses its buttons; no second card."""
    uid = failing(convoy, rate=60.0)

    async def scenario() -> None:
        async with replicas(watch_settings, 1) as group:
            await group.tick_all(timedelta(0))
            convoy.set_breaker(uid, 45.0, "closed")  # threshold 50, hysteresis 10
            await group.tick_all(MINUTE)
            assert slack.api_calls("chat.update") == []
            convoy.set_breaker(uid, 5.0, "closed")
            await group.tick_all(2 * MINUTE)
            convoy.set_breaker(uid, 55.0, "closed")
            await group.tick_all(3 * MINUTE)

    asyncio.run(scenario())

    first, second, *again = cards(slack)
    for card in (first, second):
        (update,) = updates_of(slack, card)
        assert "Recovered at" in str(update["blocks"])
        assert "5.0% (circuit breaker: closed)" in str(update["blocks"])
        assert "actions" not in [b["type"] for b in update["blocks"]]
    assert len(again) == 2, "a new episode after recovery is a new card"


def test_paused_or_breaker_closed_endpoints_get_no_card_and_half_open_keeps_one(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """A paused endpoint never gets a failing card; half-open keeps an open episode open."""
    paused = failing(convoy, "paused-api")
    convoy.set_status(paused, "paused")
    uid = failing(convoy)

    async def scenario() -> None:
        async with replicas(watch_settings, 1) as group:
            await group.tick_all(timedelta(0))
            convoy.set_breaker(uid, 0.0, "half-open")
            await group.tick_all(MINUTE)

    asyncio.run(scenario())

    assert [c.text.split(" is failing")[0] for c in cards(slack)] == ["orders-api"] * 2
    assert slack.api_calls("chat.update") == []


def test_pause_from_the_card_writes_once_and_updates_the_card_everywhere(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
) -> None:
    """Pause on one copy of the card: one PUT; both copies say who paused it; a second
    click on the other copy changes nothing; the next poll tells nothing more."""
    uid = failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    mine, theirs = sorted(cards(slack), key=lambda c: c.payload["channel"] != BOUND)
    value = button(mine, ids.WATCH_PAUSE)["value"]

    sender.click(operator, ids.WATCH_PAUSE, value, channel_id=BOUND, message=message(mine))
    eventually(lambda: len(updates_of(slack, theirs)) == 1 or None, what="the card updated")
    second = sender.click(
        operator, ids.WATCH_PAUSE, value, channel_id=OTHER_BOUND, message=message(theirs)
    )

    assert [(w.operation, w.endpoint_uid) for w in convoy.writes()] == [("pause", uid)]
    assert convoy.endpoint(uid)["status"] == "paused"
    for card in (mine, theirs):
        (update,) = updates_of(slack, card)
        assert f"Paused from this card by <@{OPERATOR}>" in str(update["blocks"])
        assert "actions" not in [b["type"] for b in update["blocks"]]
    assert "already acted on this failing card" in reply_to(slack, second.token)[0]
    announced = [c for c in slack.api_calls("chat.postMessage") if "was paused" in c.text]
    assert [c.payload["channel"] for c in announced] == [BOUND, OTHER_BOUND], "and its copy"
    assert "Reason: from the failing card" in announced[0].text
    before = len(slack.calls)
    polls(watch_settings, convoy, MINUTE)
    assert len(slack.calls) == before, "the paused endpoint's episode ended quietly"


def test_pause_30m_from_the_card_sets_a_timer(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
    store: redis.Redis,
) -> None:
    """Pause 30m is a timed pause like `/convoy pause X for 30m`: its timer is in Redis."""
    uid = failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    card = cards(slack)[0]

    click_card(sender, operator, ids.WATCH_PAUSE_30M, card)

    eventually(lambda: updates_of(slack, card) or None, what="the card updated")
    assert "Paused for 30m from this card" in str(updates_of(slack, card)[0]["blocks"])
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert len(across_shards(store, redis_keys.resume_timers)) == 1
    assert uid


def test_a_viewer_cannot_pause_from_the_card_and_the_card_stays_usable(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    grant: Callable[..., None],
) -> None:
    """The role is checked at click time: a viewer's click writes nothing, the card keeps
    its buttons, and an operator's click afterwards still pauses."""
    grant(VIEWER, Role.VIEWER)
    grant(OPERATOR, Role.OPERATOR)
    failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    card = cards(slack)[0]
    value = button(card, ids.WATCH_PAUSE)["value"]
    channel = card.payload["channel"]

    refused = sender.click(
        VIEWER, ids.WATCH_PAUSE, value, channel_id=channel, message=message(card)
    )

    assert (
        "operator" in reply_to(slack, refused.token)[0]
        or "requester" in reply_to(slack, refused.token)[0]
    )
    assert convoy.writes() == []
    assert updates_of(slack, card) == []
    sender.click(OPERATOR, ids.WATCH_PAUSE, value, channel_id=channel, message=message(card))
    eventually(lambda: updates_of(slack, card) or None, what="the card updated")
    assert [w.operation for w in convoy.writes()] == ["pause"]


def test_snooze_silences_the_endpoint_for_an_hour(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
) -> None:
    """Snooze 1h: the card says until when; no card while snoozed though it still fails;
    a new card once the hour is over; nothing was written to Convoy."""
    failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    card = cards(slack)[0]

    click_card(sender, operator, ids.WATCH_SNOOZE, card)
    eventually(lambda: updates_of(slack, card) or None, what="the card updated")

    assert f"Snoozed by <@{OPERATOR}> until" in str(updates_of(slack, card)[0]["blocks"])
    polls(watch_settings, convoy, 2 * MINUTE, 30 * MINUTE, 59 * MINUTE)
    assert len(cards(slack)) == 2, "no new card while snoozed"
    polls(watch_settings, convoy, 62 * MINUTE)
    assert len(cards(slack)) == 4, "a new card in both channels once the snooze is over"
    assert convoy.writes() == []


def test_two_replicas_post_one_card_and_poll_once_per_interval(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Two replicas ticking together: one list call per interval, one card per channel."""
    failing(convoy)

    listed = polls(
        watch_settings, convoy, timedelta(0), timedelta(seconds=30), MINUTE, 2 * MINUTE, count=2
    )

    assert listed == [1, 0, 1, 1]
    assert len(cards(slack)) == 2


def test_convoy_429_backs_off_until_retry_after(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """A 429 on the list: no call again until its Retry-After (5 minutes), then one."""
    failing(convoy)
    convoy.set_fault("list", status=429, retry_after=300, times=1)

    listed = polls(watch_settings, convoy, timedelta(0), MINUTE, 2 * MINUTE, 4 * MINUTE, 6 * MINUTE)

    assert listed == [1, 0, 0, 0, 1]
    assert len(cards(slack)) == 2


def test_an_unbound_project_is_not_polled_at_all(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, store: redis.Redis
) -> None:
    """No channel bound to the project: not one call to Convoy, nothing in Slack."""
    failing(convoy)

    listed = polls(watch_settings, convoy, timedelta(0), MINUTE, 2 * MINUTE)

    assert listed == [0, 0, 0]
    assert convoy.requests == []
    assert cards(slack) == []


def test_a_failing_watch_shows_in_status_until_it_recovers(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None, bot: BotProcess
) -> None:
    """Key revoked (401 on the list): /status says the project's watch is failing, and
    how many polls in a row; the next good poll clears it."""
    failing(convoy)
    convoy.set_fault("list", status=401)

    polls(watch_settings, convoy, timedelta(0), MINUTE)

    (watch,) = httpx.get(f"{bot.url}/status", timeout=10).json()["watch"].values()
    assert watch["ok"] is False
    assert watch["failed_polls_in_a_row"] == 2
    assert "401" in watch["problem"] or "key" in watch["problem"]
    assert CONVOY_KEY not in str(watch)
    assert cards(slack) == []
    convoy.clear_faults()
    polls(watch_settings, convoy, 2 * MINUTE)
    (watch,) = httpx.get(f"{bot.url}/status", timeout=10).json()["watch"].values()
    assert (watch["ok"], watch["problem"], watch["endpoints"]) == (True, "", 1)


def test_convoy_watch_shows_what_is_watched_and_where_rates_come_from(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    grant: Callable[..., None],
) -> None:
    """`/convoy watch` (a viewer): the channels, interval and thresholds, the source of the
    rates, the last poll and what fails now; nothing is written."""
    grant(VIEWER, Role.VIEWER)
    failing(convoy)
    convoy.add_endpoint("quiet-api")
    polls(watch_settings, convoy, timedelta(0))

    sent = sender.command(VIEWER, "watch", channel_id=BOUND)

    (reply,) = reply_to(slack, sent.token)
    assert "is *watched* every 1m; cards go to <#C0ONCALL>, <#C0PAYMENTS>" in reply
    assert "50% or more" in reply
    assert "under 40%" in reply
    assert "Failure rates from: circuit breaker." in reply
    assert "2 endpoint(s)" in reply
    assert "*orders-api*" in reply
    assert "80.0%" in reply
    assert "quiet-api" not in reply
    assert convoy.writes() == []


def test_convoy_watch_without_breaker_rates_or_binding_says_so(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """An unbound project is not watched (and was never polled); the reply says how to
    change that."""
    grant(VIEWER, Role.VIEWER)
    convoy.add_endpoint("quiet-api")

    sent = sender.command(VIEWER, "watch")

    (reply,) = reply_to(slack, sent.token)
    assert "*not watched*: no channel is bound to it" in reply
    assert "Not polled yet." in reply
    assert convoy.requests == []


def test_convoy_watch_says_when_convoy_sends_no_rates(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    grant: Callable[..., None],
) -> None:
    """Convoy's breaker off: the watch says its rates come from deliveries, or, with no
    deliveries to count, that it sees changes of status only; no card is posted."""
    grant(VIEWER, Role.VIEWER)
    convoy.add_endpoint("quiet-api")
    polls(watch_settings, convoy, timedelta(0))

    sent = sender.command(VIEWER, "watch", channel_id=BOUND)

    (reply,) = reply_to(slack, sent.token)
    assert "Failure rates from: none (Convoy's circuit breaker sends no rates" in reply
    assert "only changes of status are seen" in reply
    assert cards(slack) == []
    convoy.add_event_delivery(str(convoy.add_endpoint("busy-api")["uid"]), status="Success")
    polls(watch_settings, convoy, 5 * MINUTE)
    again = sender.command(VIEWER, "watch", channel_id=BOUND)
    assert "Failure rates from: deliveries (" in reply_to(slack, again.token)[0]


def test_a_watch_that_stops_working_is_said_once_and_its_recovery_once(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Key revoked for five polls: the bound channels hear it once, at the third failed poll
    (one may be a blip), without the key; the next good poll: once that it works again."""
    convoy.add_endpoint("orders-api")
    convoy.set_fault("list", status=401)

    def said(needle: str) -> list[str]:
        posts = slack.api_calls("chat.postMessage")
        return sorted(c.payload["channel"] for c in posts if c.accepted and needle in c.text)

    polls(watch_settings, convoy, timedelta(0), MINUTE)
    assert said("stopped working") == []
    polls(watch_settings, convoy, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE)
    assert said("stopped working (3 polls in a row failed)") == sorted([BOUND, OTHER_BOUND])
    convoy.clear_faults()
    polls(watch_settings, convoy, 5 * MINUTE, 6 * MINUTE)

    assert said("stopped working") == sorted([BOUND, OTHER_BOUND])
    assert said("The watch works again") == sorted([BOUND, OTHER_BOUND])
    assert not any(CONVOY_KEY in c.text for c in slack.calls)


def test_a_served_bot_polls_and_counts_its_polls_in_metrics(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bound: None,
    scope: str,
    bot_factory: Callable[..., BotProcess],
) -> None:
    """`serve` with the watch on: its scheduler polls the bound project by itself, posts the
    failing card, and /metrics counts its polls, failed ones (a revoked key) apart."""
    failing(convoy)
    watcher = bot_factory(CONVOY_BOT_WATCH_ENABLED="true", CONVOY_BOT_WATCH_INTERVAL="1s")

    eventually(lambda: len(cards(slack)) == 2 or None, what="the cards")
    convoy.set_fault("list", status=401)
    eventually(
        lambda: (
            metric(watcher, "convoy_bot_watch_polls_total", project=scope, result="failed") or None
        ),
        what="a failed poll counted",
    )

    assert metric(watcher, "convoy_bot_watch_polls_total", project=scope, result="ok") >= 1
    assert len(cards(slack)) == 2, "one card per channel, however many polls"


def test_a_binding_with_notify_mentions_its_user_group_on_failing_cards(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    store: redis.Redis,
    scope: str,
) -> None:
    """`/convoy bind default --notify @oncall`: that channel's failing card mentions the group
    (another bound channel's does not); a --notify that is not a group changes nothing."""
    slack.add_channel(BOUND)
    slack.add_channel(OTHER_BOUND)
    store.hset(redis_keys.bindings(), OTHER_BOUND, scope)

    refused = sender.command(ADMIN, "bind default --notify oncall", channel_id=BOUND)
    assert "takes a Slack user group picked with @" in reply_to(slack, refused.token)[0]
    assert store.hget(redis_keys.bindings(), BOUND) is None
    sent = sender.command(
        ADMIN, "bind default --notify <!subteam^S0ONCALL|@oncall>", channel_id=BOUND
    )
    assert "cards here mention <!subteam^S0ONCALL>" in reply_to(slack, sent.token)[0]
    failing(convoy)
    polls(watch_settings, convoy, timedelta(0))

    here = next(c for c in cards(slack) if c.payload["channel"] == BOUND)
    there = next(c for c in cards(slack) if c.payload["channel"] == OTHER_BOUND)
    assert here.payload["text"].startswith("<!subteam^S0ONCALL> ")
    assert here.payload["blocks"][0]["text"]["text"] == "<!subteam^S0ONCALL>"
    assert "subteam" not in there.text


def test_a_card_that_reached_no_channel_is_posted_at_the_next_poll(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """The bot was removed from both bound channels when the endpoint started failing: the
    episode is not kept silent; once it is back in one channel, the next poll posts there."""
    failing(convoy)
    slack.remove_bot(BOUND)
    slack.remove_bot(OTHER_BOUND)

    polls(watch_settings, convoy, timedelta(0))
    assert cards(slack) == []
    slack.add_channel(BOUND)
    polls(watch_settings, convoy, MINUTE, 2 * MINUTE)

    assert [c.payload["channel"] for c in cards(slack)] == [BOUND]


def test_a_poll_slower_than_its_lease_keeps_it_so_no_replica_polls_beside_it(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None, scope: str
) -> None:
    """Issue 21 (found by reading): a poll that outlasts its lease (Convoy holds the list
    call) renews the lease while it runs, so a second replica ticking after the first lease
    would have run out polls nothing beside it, and the failing card comes once per channel."""
    failing(convoy)
    lease = 4.0  # seconds; renewed every third of that while the poll runs
    settings = watch_settings.model_copy(
        update={"convoy_bot_watch_lease": timedelta(seconds=lease), "convoy_timeout_seconds": 30}
    )
    arrived, gate = threading.Event(), threading.Event()

    def hold_the_list() -> None:
        arrived.set()
        gate.wait(30)

    convoy.set_fault("list", meanwhile=hold_the_list, times=1)

    async def scenario() -> int:
        async with replicas(settings, 2) as group:
            await group.redis.set(redis_keys.clock_offset(), 0)
            slow = asyncio.create_task(group.schedulers[0].tick())
            await asyncio.to_thread(arrived.wait, 30)
            first_lease = float(await group.redis.zscore(redis_keys.watch_due(), scope))
            # The first lease runs out (a second past it): only its renewal keeps the project.
            await asyncio.sleep(max(first_lease - time.time(), 0) + 1.0)
            await group.schedulers[1].tick()
            listed_meanwhile = sum(r.operation == "list" for r in convoy.requests)
            gate.set()
            await slow
        return listed_meanwhile

    listed_meanwhile = asyncio.run(scenario())

    assert listed_meanwhile == 1, "the second replica polled beside the slow one"
    assert sorted(c.payload["channel"] for c in cards(slack)) == sorted([BOUND, OTHER_BOUND])


def test_a_card_keeps_its_claim_only_while_it_says_what_happened(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
) -> None:
    """Issue 21 (found by reading): Pause on a card whose endpoint was paused meanwhile says
    "already paused" on the card (no write); one whose endpoint Convoy disabled meanwhile
    writes nothing and leaves Pause usable, so the next click pauses instead of hearing
    "someone already acted"; a pause Convoy has not confirmed says so on the card."""
    paused = failing(convoy, "paused-meanwhile")
    disabled = failing(convoy, "disabled-meanwhile")
    slow = failing(convoy, "slow-to-answer")
    polls(watch_settings, convoy, timedelta(0))
    mine = {
        c.text.split(" is failing")[0]: c for c in cards(slack) if c.payload["channel"] == BOUND
    }
    convoy.set_status(paused, "paused")
    convoy.set_status(disabled, "inactive")

    already = click_card(sender, operator, ids.WATCH_PAUSE, mine["paused-meanwhile"])
    eventually(lambda: updates_of(slack, mine["paused-meanwhile"]) or None, what="its card")
    refused = click_card(sender, operator, ids.WATCH_PAUSE, mine["disabled-meanwhile"])
    assert "disabled" in reply_to(slack, refused.token)[0].lower()
    convoy.set_status(disabled, "active")
    again = click_card(sender, operator, ids.WATCH_PAUSE, mine["disabled-meanwhile"])
    eventually(lambda: updates_of(slack, mine["disabled-meanwhile"]) or None, what="its card")
    convoy.set_fault("pause", delay=2.5, apply_before_delay=False, times=1)
    click_card(sender, operator, ids.WATCH_PAUSE, mine["slow-to-answer"])
    eventually(lambda: updates_of(slack, mine["slow-to-answer"]) or None, what="its card")

    assert "already paused" in reply_to(slack, already.token)[0]
    (closed,) = updates_of(slack, mine["paused-meanwhile"])
    assert f"Already paused when <@{OPERATOR}> clicked Pause" in str(closed["blocks"])
    assert all("already acted" not in r.text for r in slack.replies(again.token))
    (paused_now,) = updates_of(slack, mine["disabled-meanwhile"])
    assert f"Paused from this card by <@{OPERATOR}>" in str(paused_now["blocks"])
    (unsettled,) = updates_of(slack, mine["slow-to-answer"])
    assert "Convoy has not confirmed it yet" in str(unsettled["blocks"])
    assert "actions" not in [b["type"] for b in unsettled["blocks"]]
    assert [(w.operation, w.endpoint_uid) for w in convoy.writes()] == [
        ("pause", disabled),
        ("pause", slow),
    ]
    settled = eventually(
        lambda: [
            c
            for c in slack.api_calls("chat.postMessage")
            if c.payload.get("thread_ts") and "slow-to-answer" in c.text
        ],
        what="the settled pause told in the thread of its first report",
    )
    assert "paused" in settled[0].text


@pytest.mark.usefixtures("team")
def test_a_card_request_nobody_could_see_leaves_the_card_usable(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, watch_settings: Settings, bound: None
) -> None:
    """Issue 21 (found by reading): a requester's Pause whose request could not be posted (it
    is withdrawn) leaves the card as it was, and an operator's click then pauses."""
    uid = failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    (card,) = [c for c in cards(slack) if c.payload["channel"] == BOUND]
    slack.remove_bot(BOUND)
    slack.fail_response_urls(status=500, body="internal_error")

    asked = click_card(sender, REQUESTER, ids.WATCH_PAUSE, card)
    eventually(lambda: len(slack.refused_replies(asked.token)) >= 2, what="two refused posts")
    assert wait_until_idle(sender.bot_url), "the click's work ended (its claim given back)"
    card_untouched = updates_of(slack, card) == []
    slack.reset()  # Slack is back, and the bot in the channel
    paused = click_card(sender, OPERATOR, ids.WATCH_PAUSE, card)
    eventually(convoy.writes, what="the pause")

    assert card_untouched, "the withdrawn request did not close the card"
    assert all("already acted" not in r.text for r in slack.replies(paused.token))
    assert [(w.operation, w.endpoint_uid) for w in convoy.writes()] == [("pause", uid)]


def test_users_work_filling_every_slot_puts_off_the_watch_until_it_is_done(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bound: None,
    scope: str,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """32 pauses held at Convoy fill the 32 slots of after-ack work (and the default bound
    of work taken on, so a 33rd is refused as busy): the scheduler then puts off its poll
    (counted in /metrics) rather than compete with them; once the pauses are done, every
    one of them is, and the watch polls again."""
    watcher = bot_factory(
        CONVOY_BOT_WATCH_ENABLED="true",
        CONVOY_BOT_WATCH_INTERVAL="1s",
        CONVOY_BOT_ADMINS=ADMIN,
        CONVOY_BOT_CHANGES_PER_MINUTE="0",  # 33 pauses from one person in a minute
        # Longer than the pauses can be held at the gate on a loaded machine: a held read
        # waits for the gate rather than time out (and the pause fail) while the test goes on.
        CONVOY_TIMEOUT_SECONDS="15",
    )
    sender = sender_to(watcher)
    eventually(
        lambda: metric(watcher, "convoy_bot_watch_polls_total", project=scope, result="ok") or None,
        what="a first poll",
    )
    uids = [str(convoy.add_endpoint(f"held-{i}")["uid"]) for i in range(32)]
    refused = str(convoy.add_endpoint("one-too-many")["uid"])
    gate = threading.Event()
    convoy.set_fault("get", meanwhile=gate.wait)
    try:
        for uid in uids:
            sender.command(ADMIN, f"pause {uid} incident")
        turned_away = sender.command(ADMIN, f"pause {refused} incident")
        assert BUSY in turned_away.response.json()["text"]
        eventually(
            lambda: metric(watcher, "convoy_bot_background_deferred_total", kind="watch") or None,
            what="a poll put off",
        )
        polls_while_held = metric(
            watcher, "convoy_bot_watch_polls_total", project=scope, result="ok"
        )
    finally:
        gate.set()
    convoy.clear_faults()

    eventually(
        lambda: all(convoy.endpoint(uid)["status"] == "paused" for uid in uids) or None,
        what="every held pause done",
    )
    eventually(
        lambda: (
            (
                metric(watcher, "convoy_bot_watch_polls_total", project=scope, result="ok")
                > polls_while_held
            )
            or None
        ),
        what="the watch polling again",
    )
    assert len(convoy.writes()) == len(uids)
