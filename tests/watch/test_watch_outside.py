"""The watcher and changes made outside the bot: in Convoy's dashboard, by its API, or by
Convoy itself (disabled), and deletions; the bot's own holds and timers kept true.

Polls run in scheduler replicas in this process with a moved clock (tests/watch/helpers.py);
commands and clicks go, signed, to the session's bot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import redis

from bot import redis_keys
from bot.compose.runtimes import ProjectRuntimes
from bot.settings import Settings
from handlers import ids
from handlers.watch_cards import WatchCards
from tests.fakes.convoy import FakeConvoy, RecordedRequest
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import BotProcess, eventually
from tests.helpers import across_shards, button, buttons, message, reply_to
from tests.replicas import replica, replicas
from tests.slack_requests import SlackSender
from tests.watch.helpers import BOUND, MINUTE, OTHER_BOUND, cards, failing, polls

SECOND = timedelta(seconds=1)


def notes(slack: FakeSlack) -> list[SlackCall]:
    return [
        c
        for c in slack.api_calls("chat.postMessage")
        if c.accepted and ("outside the bot" in c.text or "deleted in Convoy" in c.text)
    ]


def disabled_cards(slack: FakeSlack) -> list[SlackCall]:
    return [
        c
        for c in slack.api_calls("chat.update") + slack.api_calls("chat.postMessage")
        if c.accepted and "disabled by Convoy" in c.text
    ]


def test_paused_in_the_dashboard_is_noted_once_in_each_bound_channel(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Paused outside the bot between two polls: one short note per bound channel; later
    polls say nothing more; resumed by hand again: one more note each."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])

    async def scenario() -> None:
        async with replicas(watch_settings, 1) as group:
            await group.tick_all(timedelta(0))
            convoy.set_status(uid, "paused")
            await group.tick_all(MINUTE)
            await group.tick_all(2 * MINUTE)
            assert len(notes(slack)) == 2
            convoy.set_status(uid, "active")
            await group.tick_all(3 * MINUTE)

    asyncio.run(scenario())

    paused, _, resumed, _ = notes(slack)
    assert "*orders-api*" in paused.text
    assert "was *paused* outside the bot (it was active)" in str(paused.payload["blocks"])
    assert "was *active* outside the bot (it was paused)" in str(resumed.payload["blocks"])
    assert sorted(n.payload["channel"] for n in notes(slack)[:2]) == sorted([BOUND, OTHER_BOUND])
    assert convoy.writes() == []


def test_resumed_by_hand_while_a_bot_timer_runs_settles_the_hold(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
    store: redis.Redis,
) -> None:
    """A timed pause by the bot, resumed in Convoy's dashboard: the watcher notes it, the
    timer is cancelled and the announcement says so; when the 30 minutes are up nothing is
    written; `/convoy paused` lists nothing."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender.command(operator, "pause orders-api for 30m bad payloads")
    announcement = eventually(
        lambda: next(
            (c for c in slack.api_calls("chat.postMessage") if "was *paused*" in c.text), None
        ),
        what="the pause announced",
    )

    async def scenario() -> None:
        async with replicas(watch_settings, 1) as group:
            await group.tick_all(timedelta(0))
            convoy.set_status(uid, "active")  # someone resumes it in the dashboard
            await group.tick_all(MINUTE)
            assert not across_shards(store, redis_keys.resume_timers)
            await group.tick_all(31 * MINUTE)

    asyncio.run(scenario())

    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert len(notes(slack)) == 2
    (rewritten,) = [
        c.payload
        for c in slack.api_calls("chat.update")
        if c.payload["ts"] == announcement.answer["ts"]
    ]
    assert "*active* outside the bot" in str(rewritten["blocks"])
    assert "actions" not in [b["type"] for b in rewritten["blocks"]], "no Resume, no Extend"
    listed = sender.command(operator, "paused")
    assert "orders-api" not in reply_to(slack, listed.token)[0]


def test_a_late_landing_write_of_the_bots_is_not_taken_for_a_persons(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    watch_settings: Settings,
    bound: None,
    operator: str,
    store: redis.Redis,
    scope: str,
) -> None:
    """The bot's pause lands but its answer is lost: a poll while it is in doubt skips the
    endpoint; once settled, the change is the bot's own: no note, the hold stays."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    polls(watch_settings, convoy, timedelta(0))
    convoy.set_fault("pause", delay=2.5, apply_before_delay=False, times=1)

    sender.command(operator, "pause orders-api bad payloads")
    eventually(
        lambda: next((c for c in slack.calls if "*not confirmed*" in c.text), None),
        what="the write reported in doubt",
    )
    polls(watch_settings, convoy, MINUTE)  # in doubt: not judged yet
    eventually(lambda: convoy.endpoint(uid)["status"] == "paused" or None, what="it to land")
    # Past the settling lease: the replica settles the write (reading Convoy), then polls.
    polls(watch_settings, convoy, 4 * MINUTE, 5 * MINUTE)

    assert store.exists(redis_keys.in_flight(scope, uid)) == 0, "the write was settled"
    assert across_shards(store, redis_keys.in_flight_due) == []
    assert notes(slack) == []
    assert [w.operation for w in convoy.writes()] == ["pause"]


def test_disabled_by_convoy_gets_a_re_enable_card_and_a_failing_card_becomes_it(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    watch_settings: Settings,
    bound: None,
    operator: str,
    move_clock: Callable[[timedelta], None],
) -> None:
    """Failing, then disabled by Convoy: the failing card is rewritten as the disabled card
    (one card, not two) with Re-enable; Re-enable asks the clicker to confirm first, and
    writes nothing until then."""
    # This bot reads the moved clock too: its re-enable comes after the poll that saw the
    # endpoint disabled, as it does when every replica shares Redis's time.
    acting = bot_factory(CONVOY_BOT_MOVABLE_CLOCK="true")
    sender = sender_to(acting)
    uid = failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    convoy.set_status(uid, "inactive")
    polls(watch_settings, convoy, MINUTE)

    assert len(cards(slack)) == 2
    assert [c.name for c in disabled_cards(slack)] == ["chat.update", "chat.update"]
    disabled = disabled_cards(slack)[0]
    assert [b["text"]["text"] for b in buttons(disabled)] == ["Re-enable"]
    assert "was *disabled by Convoy* (it was active)" in str(disabled.payload["blocks"])
    move_clock(90 * SECOND)
    eventually(lambda: clock_of(acting) >= datetime.now(UTC) + 80 * SECOND or None, what="sync")
    clicked = sender.click(
        operator,
        ids.WATCH_REENABLE,
        button(disabled, ids.WATCH_REENABLE)["value"],
        channel_id=disabled.payload["channel"],
        message=message(disabled),
    )
    reply_to(slack, clicked.token)  # waits for it
    (confirm,) = slack.replies(clicked.token)
    assert "Convoy disabled it" in confirm.text
    assert convoy.writes() == []

    sender.click(
        operator,
        ids.CONFIRM_REENABLE,
        button(confirm, ids.CONFIRM_REENABLE)["value"],
        channel_id=disabled.payload["channel"],
    )
    eventually(lambda: convoy.writes() or None, what="the re-enable")
    polls(watch_settings, convoy, 2 * MINUTE)

    assert [w.operation for w in convoy.writes()] == ["activate"]
    assert notes(slack) == [], "the bot's own re-enable is no news"
    closed = [c for c in slack.api_calls("chat.update") if "the endpoint is *active* now" in c.text]
    assert len(closed) == 2
    assert all("actions" not in [b["type"] for b in c.payload["blocks"]] for c in closed)


def clock_of(bot: BotProcess) -> datetime:
    """The bot's shared clock, as its /status shows it."""
    return datetime.fromisoformat(httpx.get(f"{bot.url}/status", timeout=10).json()["clock"])


def test_a_deleted_endpoint_is_noted_and_its_card_closed(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Deleted in Convoy while failing: its card says so (buttons gone) and a note says it."""
    uid = failing(convoy)
    polls(watch_settings, convoy, timedelta(0))
    convoy.delete_endpoint(uid)
    polls(watch_settings, convoy, MINUTE, 2 * MINUTE)

    assert len(notes(slack)) == 2
    assert "was *deleted* in Convoy" in str(notes(slack)[0].payload["blocks"])
    for update in slack.api_calls("chat.update"):
        assert "deleted in Convoy" in str(update.payload["blocks"])
        assert "actions" not in [b["type"] for b in update.payload["blocks"]]
    assert len(slack.api_calls("chat.update")) == 2


def test_without_breaker_rates_failed_deliveries_make_the_rate(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Convoy's breaker off: the share of failed deliveries in the last 15 minutes (Convoy's
    period failure rate, a fraction) makes the rate: 3 of 4 failed is a 75.0% card. It is
    asked once per 5 minutes, up to 40 active endpoints in one call, with an explicit window."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    quiet = str(convoy.add_endpoint("quiet-api")["uid"])
    for status in ("Failure", "Failure", "Retry", "Success"):
        convoy.add_event_delivery(uid, status=status)
    convoy.add_event_delivery(quiet, status="Success")

    def rate_calls() -> list[RecordedRequest]:
        return [r for r in convoy.requests if r.operation == "rates"]

    counted = []
    for step in (timedelta(0), MINUTE, 2 * MINUTE, 5 * MINUTE):
        before = len(rate_calls())
        polls(watch_settings, convoy, step)
        counted.append(len(rate_calls()) - before)

    assert counted == [1, 0, 0, 1]
    posted = cards(slack)
    assert len(posted) == 2
    assert "75.0% (deliveries)" in posted[0].text
    first = rate_calls()[0].query
    assert sorted(first["endpointId"]) == sorted([uid, quiet])
    start = datetime.fromisoformat(first["startDate"][0])
    end = datetime.fromisoformat(first["endDate"][0])
    assert end - start == timedelta(minutes=15)


def test_period_rates_of_many_endpoints_are_asked_in_short_urls(
    convoy: FakeConvoy, watch_settings: Settings, bound: None
) -> None:
    """120 active endpoints without breaker rates: three calls of 40 ids, each URL under
    2 KB, and the list's two pages."""
    for number in range(120):
        convoy.add_endpoint(f"endpoint-{number:03}")

    listed = polls(watch_settings, convoy, timedelta(0))

    calls = [r for r in convoy.requests if r.operation == "rates"]
    assert listed == [2]
    assert [len(r.query["endpointId"]) for r in calls] == [40, 40, 40]
    assert all(len(r.path) + len(urlencode(r.query, doseq=True)) < 2000 for r in calls)


def test_ten_endpoints_failing_at_once_get_one_digest_updated_line_by_line(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """A shared downstream down: ten endpoints fail in one poll: one digest per bound
    channel, not ten cards; one recovering rewrites its line in both, the rest still say
    failing; nothing more is posted."""
    uids = [failing(convoy, f"shop-{number}") for number in range(10)]
    polls(watch_settings, convoy, timedelta(0))
    posts = [c for c in slack.api_calls("chat.postMessage") if c.accepted]
    assert cards(slack) == []
    assert len(posts) == 2
    assert all("*10 endpoints started failing*" in p.text for p in posts)
    assert all(p.text.count(":rotating_light: failing, 80.0%") == 10 for p in posts)

    convoy.set_breaker(uids[3], 2.0, "closed")
    polls(watch_settings, convoy, MINUTE)

    updates = slack.api_calls("chat.update")
    assert sorted((u.payload["channel"], u.payload["ts"]) for u in updates) == sorted(
        (p.payload["channel"], p.answer["ts"]) for p in posts
    )
    for update in updates:
        assert update.text.count(":rotating_light: failing, 80.0%") == 9
        assert "*shop-3*" in update.text
        assert "Recovered at" in update.text
    assert len([c for c in slack.api_calls("chat.postMessage") if c.accepted]) == 2


def test_many_changes_outside_the_bot_in_one_poll_make_one_note_and_survive_a_429(
    convoy: FakeConvoy, slack: FakeSlack, watch_settings: Settings, bound: None
) -> None:
    """Three endpoints paused by hand between two polls: one note per bound channel naming
    all three (a channel takes about one post a second); Slack's 429 on the first post is
    waited out (its Retry-After) and the note still arrives."""
    uids = [str(convoy.add_endpoint(f"shop-{n}")["uid"]) for n in range(3)]
    polls(watch_settings, convoy, timedelta(0))
    for uid in uids:
        convoy.set_status(uid, "paused")
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)

    polls(watch_settings, convoy, MINUTE)

    assert sorted(n.payload["channel"] for n in notes(slack)) == sorted([BOUND, OTHER_BOUND])
    for note in notes(slack):
        assert all(f"*shop-{n}*" in note.text for n in range(3))
        assert note.text.count("outside the bot") >= 3


def test_lines_of_one_digest_ended_at_once_are_all_kept(
    convoy: FakeConvoy,
    slack: FakeSlack,
    watch_settings: Settings,
    bound: None,
    store: redis.Redis,
    scope: str,
) -> None:
    """Issue 21 (found by reading): six lines of one digest ended at the same moment (a poll,
    `/convoy watch snooze`s, clicks on other replicas) each keep their new line, in Redis and
    in the digest Slack shows last in each channel: no rewrite drops another's."""
    uids = [failing(convoy, f"shop-{number}") for number in range(6)]
    polls(watch_settings, convoy, timedelta(0))
    keys = [str(k) for k in store.hkeys(redis_keys.watch_cards(scope))]
    (digest_id,) = [k for k in keys if k.startswith("digest")]

    async def end_every_line_at_once() -> None:
        infra = replica(watch_settings)
        runtimes = ProjectRuntimes(infra)
        try:
            runtime = await runtimes.for_scope(scope)
            assert runtime is not None
            cards_of = runtime.get(WatchCards)
            ended = (cards_of.close(uid, f"ended as line {n}") for n, uid in enumerate(uids))
            assert all(await asyncio.gather(*ended))
        finally:
            await runtimes.aclose()
            await infra.aclose()

    asyncio.run(end_every_line_at_once())

    kept = json.loads(store.hget(redis_keys.watch_cards(scope), digest_id) or "{}")
    assert sorted(kept["states"].values()) == [f"ended as line {n}" for n in range(6)]
    for channel in (BOUND, OTHER_BOUND):
        last = [u for u in slack.api_calls("chat.update") if u.payload["channel"] == channel][-1]
        assert all(f"ended as line {n}" in last.text for n in range(6)), last.text
