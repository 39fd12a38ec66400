"""Timed pauses: the timer in Redis, its buttons, reminders, and the report on resume.

The bots under test run with the real clock, so their own timers (30 minutes away) never
fire here; due times are reached by scheduler replicas built in this process with a clock
the test moves, sharing the same Redis, fake Convoy and fake Slack.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot import redis_keys
from bot.access.roles import Role
from bot.change.holds import HoldStore, TimerKind, new_hold
from bot.clock import SharedClock
from bot.compose.app import build_scheduler
from bot.compose.runtimes import ProjectRuntimes
from bot.settings import Settings
from bot.store import redis_client
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import (
    ADMIN,
    BotProcess,
    eventually,
)
from tests.helpers import (
    OPERATOR,
    AuditRecord,
    button,
    convoy_receives,
    find_button,
    message,
    post_with,
    reply_to,
)
from tests.redis_cluster import TestRedis, start_test_redis
from tests.replicas import replica, run_replicas
from tests.slack_requests import SlackSender


def _timed_pause(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, user: str = OPERATOR
) -> tuple[str, SlackCall]:
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    sender.command(user, "pause orders-api for 30m customer fixing their TLS")
    return str(endpoint["uid"]), post_with(slack, "was *paused*")


def test_timed_pause_announces_time_and_buttons(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """The channel message shows the auto-resume time with Resume now, Extend and Keep."""
    _, post = _timed_pause(convoy, slack, sender)

    assert "*Auto-resume:*" in post.text
    assert ", in 30m" in post.text or ", in 29m" in post.text
    labels = [
        button(post, a)["text"]["text"]
        for a in (ids.RESUME_BUTTON, ids.EXTEND_BUTTON, ids.KEEP_BUTTON)
    ]
    assert labels == ["Resume now", "Extend 30m", "Keep paused"]
    assert "customer fixing their TLS" in post.text


def test_too_long_a_pause_is_refused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """A duration over the maximum (24h) changes nothing and says the limit, however large
    its number (issue 21 item 6: `for 1000000000d` once overflowed before the ack)."""
    convoy.add_endpoint("orders-api")

    for typed in ("25h", "1000000000d", "9" * 5000 + "d", "--for 99999999999999999999s"):
        words = typed if typed.startswith("--") else f"for {typed}"
        sent = sender.command(operator, f"pause orders-api {words} the receiver is down")
        assert sent.response.status_code == 200, "acknowledged"
        assert "can last at most 24h" in reply_to(slack, sent.token)[0], typed[:20]
    assert convoy.writes() == []


def test_timer_fires_once_across_two_replicas(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
    audit_entries: Callable[..., list[AuditRecord]],
) -> None:
    """Two replicas ticking at the due time: one activate, one thread post, one audit entry."""
    uid, post = _timed_pause(convoy, slack, sender)

    ran = run_replicas(replica_settings, slack, timedelta(minutes=31))

    assert ran == [1]
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"
    (resumed,) = [
        c for c in slack.api_calls("chat.postMessage") if "resumed automatically" in c.text
    ]
    assert resumed.payload["thread_ts"] == post.answer["ts"]
    assert resumed.payload["reply_broadcast"] is True
    assert "timed pause by <@U0OPERATOR> ended" in resumed.text
    # 31m by the replicas' clock, and the seconds the test took
    assert re.search(r"Paused for 31m( \d{1,2}s)? \(since ", resumed.text), resumed.text
    (entry,) = [e for e in audit_entries() if e.command == "auto-resume"]
    assert (entry.actor, entry.outcome) == (OPERATOR, "resumed")
    assert entry.detail == "by the bot on behalf of U0OPERATOR"
    assert len(slack.webhooks()) == 2


def test_restart_between_pause_and_due_time_still_resumes(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
    operator: str,
    replica_settings: Settings,
) -> None:
    """The timer lives in Redis: a bot stopped after the pause does not lose it."""
    short_lived = bot_factory()
    uid, _ = _timed_pause(convoy, slack, sender_to(short_lived))
    assert short_lived.stop() == 0

    posted = run_replicas(replica_settings, slack, timedelta(minutes=20), timedelta(minutes=31))
    assert posted == [0, 1]
    assert convoy.endpoint(uid)["status"] == "active"


def test_extend_moves_the_timer_once_per_click(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Extend: +30m; a double click on the same message does not add another 30m."""
    uid, post = _timed_pause(convoy, slack, sender)
    extend = button(post, ids.EXTEND_BUTTON)["value"]

    first = sender.click(operator, ids.EXTEND_BUTTON, extend, message=message(post))
    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]
    second = sender.click(operator, ids.EXTEND_BUTTON, extend, message=message(post))

    assert "extended the pause" in update.text
    assert "in 1h" in update.text or "in 59m" in update.text
    assert button(update, ids.EXTEND_BUTTON)["value"] != extend, (
        "the new buttons carry the new time"
    )
    assert "already changed" in reply_to(slack, second.token)[0]
    assert slack.replies(first.token) == []
    posted = run_replicas(replica_settings, slack, timedelta(minutes=31), timedelta(minutes=61))
    assert posted == [0, 1]
    assert convoy.endpoint(uid)["status"] == "active"


def test_keep_paused_cancels_the_timer(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Keep paused: no auto-resume ever; the message keeps only its Resume button."""
    uid, post = _timed_pause(convoy, slack, sender)

    sender.click(
        operator, ids.KEEP_BUTTON, button(post, ids.KEEP_BUTTON)["value"], message=message(post)
    )
    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]

    assert "cancelled the auto-resume" in update.text
    assert button(update, ids.RESUME_BUTTON)["text"]["text"] == "Resume"
    assert ids.EXTEND_BUTTON not in json.dumps(update.payload["blocks"])
    assert run_replicas(replica_settings, slack, timedelta(hours=25)) == [0]
    assert convoy.endpoint(uid)["status"] == "paused"
    listing = sender.command(operator, "paused")
    assert "Auto-resume: none (stays paused" in reply_to(slack, listing.token)[0]


def test_timer_buttons_need_an_operator(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    grant: Callable[..., None],
) -> None:
    """A viewer's Extend or Keep click changes nothing."""
    grant("U0VIEWER", Role.VIEWER)
    _, post = _timed_pause(convoy, slack, sender)

    extend = sender.click(
        "U0VIEWER",
        ids.EXTEND_BUTTON,
        button(post, ids.EXTEND_BUTTON)["value"],
        message=message(post),
    )
    keep = sender.click(
        "U0VIEWER", ids.KEEP_BUTTON, button(post, ids.KEEP_BUTTON)["value"], message=message(post)
    )

    assert "needs the *operator* role" in reply_to(slack, extend.token)[0]
    assert "needs the *operator* role" in reply_to(slack, keep.token)[0]
    assert slack.api_calls("chat.update") == []


def test_manual_resume_cancels_the_timer(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """After `/convoy resume`, the old timer does nothing."""
    _timed_pause(convoy, slack, sender)
    sender.command(operator, "resume orders-api receiver is back")
    post_with(slack, "was *resumed*")

    assert run_replicas(replica_settings, slack, timedelta(minutes=31)) == [0]
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]


def test_old_timer_never_resumes_a_new_pause(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Resumed outside the bot and paused again by it: the first pause's timer is void."""
    uid, _ = _timed_pause(convoy, slack, sender)
    convoy.set_status(uid, "active")  # someone resumed it in Convoy's dashboard
    sender.command(operator, "pause orders-api second incident")
    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 2, what="the second pause")

    # The old timer is claimed and found void: nothing is posted, nothing written.
    assert run_replicas(replica_settings, slack, timedelta(minutes=31)) == [0]
    assert convoy.endpoint(uid)["status"] == "paused"
    assert [w.operation for w in convoy.writes()] == ["pause", "pause"]


def test_pause_ended_outside_the_bot_is_not_auto_resumed(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Resumed in Convoy's dashboard: the timer writes nothing and says why in the thread."""
    uid, post = _timed_pause(convoy, slack, sender)
    convoy.set_status(uid, "active")

    assert run_replicas(replica_settings, slack, timedelta(minutes=31)) == [1]
    assert [w.operation for w in convoy.writes()] == ["pause"]
    notice = post_with(slack, "did not resume it")
    assert "it is active now, not paused: someone changed it outside the bot" in notice.text
    assert notice.payload["thread_ts"] == post.answer["ts"]
    assert run_replicas(replica_settings, slack, timedelta(minutes=40)) == [0], "said once"


def test_reminder_in_the_thread_before_auto_resume(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Five minutes before the due time a reminder with Extend arrives in the pause's thread."""
    _, post = _timed_pause(convoy, slack, sender)

    assert run_replicas(replica_settings, slack, timedelta(minutes=26)) == [1]
    reminder = post_with(slack, "resumes automatically in")
    assert reminder.payload["thread_ts"] == post.answer["ts"]
    assert button(reminder, ids.EXTEND_BUTTON)
    assert run_replicas(replica_settings, slack, timedelta(minutes=27)) == [0], "reminded once"


def test_paused_lists_and_reconciles(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    grant: Callable[..., None],
) -> None:
    """`/convoy paused` shows who, when, why and auto-resume; a stale entry is dropped."""
    grant("U0VIEWER", Role.VIEWER)
    uid, _ = _timed_pause(convoy, slack, sender)
    first = sender.command("U0VIEWER", "paused")
    listing = reply_to(slack, first.token)[0]
    convoy.set_status(uid, "active")
    second = sender.command("U0VIEWER", "paused")
    stale = reply_to(slack, second.token)[0]
    third = sender.command("U0VIEWER", "paused")

    assert "*orders-api*" in listing
    assert "paused by <@U0OPERATOR>" in listing
    assert "customer fixing their TLS" in listing
    assert "Auto-resume:" in listing
    assert "no longer paused in Convoy (resumed outside the bot); removed" in stale
    assert "holds no paused endpoints" in reply_to(slack, third.token)[0]


def test_resume_reports_discarded_deliveries_and_retries_them(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """The resume counts the window's Discarded deliveries; Retry sends batchretry with them."""
    uid, _ = _timed_pause(convoy, slack, sender)
    other = str(convoy.add_endpoint("billing-api")["uid"])
    now = datetime.now(UTC)
    during = [convoy.add_event_delivery(uid, created_at=now) for _ in range(3)]
    before = convoy.add_event_delivery(uid, created_at=now - timedelta(hours=2))
    elsewhere = convoy.add_event_delivery(other, created_at=now)
    delivered = convoy.add_event_delivery(uid, status="Success", created_at=now)

    sender.command(operator, "resume orders-api")
    post = post_with(slack, "was *resumed*")

    assert "Convoy *discarded 3 event deliveries* meanwhile" in post.text
    assert "Paused for " in post.text
    (listing,) = [r for r in convoy.requests if r.operation == "deliveries"]
    assert listing.query["endpointId"] == [uid]
    assert listing.query["status"] == ["Discarded"]
    start, end = listing.query["startDate"][0], listing.query["endDate"][0]
    assert len(start) == len(end) == len("2006-01-02T15:04:05")  # Convoy's Go layout, no zone
    assert datetime.fromisoformat(start + "+00:00") < datetime.fromisoformat(end + "+00:00")

    retry = button(post, ids.RETRY_DISCARDED)
    click = sender.click(operator, ids.RETRY_DISCARDED, retry["value"], message=message(post))
    first = reply_to(slack, click.token)[0]  # the second click comes after; else either may win
    again = sender.click(operator, ids.RETRY_DISCARDED, retry["value"], message=message(post))

    assert "retrying 3 discarded event deliveries" in first
    assert "already sent for retry" in reply_to(slack, again.token)[0]
    (batch,) = [r for r in convoy.requests if r.operation == "batchretry"]
    assert (batch.query["endpointId"], batch.query["status"]) == ([uid], ["Discarded"])
    statuses = {d["uid"]: d["status"] for d in convoy.event_deliveries()}
    assert [statuses[d["uid"]] for d in during] == ["Scheduled"] * 3
    assert statuses[before["uid"]] == "Discarded", "outside the pause: not retried"
    assert statuses[elsewhere["uid"]] == "Discarded", "another endpoint: not retried"
    assert statuses[delivered["uid"]] == "Success"


def test_a_retry_convoy_refuses_gives_the_button_back(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Convoy refuses the batch retry (a 400, nothing queued): the clicker hears why, the
    claim is released and the button comes back, so a later click retries them once."""
    uid, _ = _timed_pause(convoy, slack, sender)
    during = [convoy.add_event_delivery(uid, created_at=datetime.now(UTC)) for _ in range(2)]
    sender.command(operator, "resume orders-api")
    post = post_with(slack, "was *resumed*")
    retry = button(post, ids.RETRY_DISCARDED)
    convoy.set_fault("batchretry", status=400, message="invalid event delivery filter", times=1)

    refused = sender.click(operator, ids.RETRY_DISCARDED, retry["value"], message=message(post))
    told = " ".join(reply_to(slack, refused.token))
    again = sender.click(operator, ids.RETRY_DISCARDED, retry["value"], message=message(post))
    retried = reply_to(slack, again.token)[0]

    assert "Convoy refused the request: invalid event delivery filter." in told
    assert "retrying 2 discarded event deliveries" in retried
    assert [r.operation for r in convoy.requests if r.operation == "batchretry"] == [
        "batchretry"
    ] * 2
    statuses = {d["uid"]: d["status"] for d in convoy.event_deliveries()}
    assert [statuses[d["uid"]] for d in during] == ["Scheduled"] * 2


def test_resume_of_a_pause_the_bot_did_not_make_claims_no_window(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Paused in Convoy's dashboard: Convoy records no start, so no duration, count or retry."""
    convoy.add_endpoint("orders-api", status="paused")

    sender.command(operator, "resume orders-api")
    post = post_with(slack, "was *resumed*")

    assert "Paused for" not in post.text
    assert ids.RETRY_DISCARDED not in json.dumps(post.payload["blocks"])
    assert [r.operation for r in convoy.requests if r.operation == "deliveries"] == []


def test_approved_timed_pause_starts_its_timer_at_approval(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
    replica_settings: Settings,
) -> None:
    """A requester's `for 30m` survives the approval; the timer then resumes it."""
    grant("U0REQUESTER", Role.REQUESTER)
    grant("U0APPROVER", Role.APPROVER)
    endpoint = convoy.add_endpoint("orders-api")
    sender.command("U0REQUESTER", "pause orders-api for 30m flapping")
    request = post_with(slack, "asks to *pause*")
    assert "for *30m*" in request.text

    approve = button(request, ids.APPROVE_BUTTON)["value"]
    sender.click("U0APPROVER", ids.APPROVE_BUTTON, approve, message=message(request))
    update = eventually(lambda: slack.api_calls("chat.update"), what="the approval")[0]

    assert "*Auto-resume:*" in update.text
    assert run_replicas(replica_settings, slack, timedelta(minutes=31)) == [1]
    assert convoy.endpoint(str(endpoint["uid"]))["status"] == "active"


def test_resume_button_of_an_old_pause_does_not_end_a_new_one(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Resumed by command, paused again later: the first message's Resume button is void."""
    uid, first = _timed_pause(convoy, slack, sender)
    sender.command(operator, "resume orders-api")
    post_with(slack, "was *resumed*")
    sender.command(operator, "pause orders-api a new incident")
    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 3, what="the new pause")

    old = button(first, ids.RESUME_BUTTON)["value"]
    click = sender.click(operator, ids.RESUME_BUTTON, old, message=message(first))

    assert "That message's pause is over" in reply_to(slack, click.token)[0]
    assert convoy.endpoint(uid)["status"] == "paused"
    assert [w.operation for w in convoy.writes()] == ["pause", "activate", "pause"]


def test_keep_or_extend_during_a_leased_auto_resume_wins(
    redis_server: TestRedis,
    convoy: FakeConvoy,
    slack: FakeSlack,
    replica_settings: Settings,
    scope: str,
) -> None:
    """A replica's lease never undoes a Keep paused or an Extend clicked while it ran."""
    kept_uid = str(convoy.add_endpoint("kept", status="paused")["uid"])
    moved_uid = str(convoy.add_endpoint("moved", status="paused")["uid"])

    async def clicked_while_leased() -> None:
        client = redis_client(redis_server.url)
        holds = HoldStore(client, timedelta(minutes=5), SharedClock(client))
        now = datetime.now(UTC)
        try:
            kept, moved = [
                await holds.record(
                    new_hold(
                        project=scope,
                        uid=uid,
                        name=name,
                        actor=OPERATOR,
                        reason="",
                        paused_at=now,
                        duration=timedelta(minutes=30),
                    ),
                    now,
                )
                for uid, name in ((kept_uid, "kept"), (moved_uid, "moved"))
            ]
            due = now + timedelta(minutes=31)
            leased, lease = await holds.claim_due(TimerKind.RESUMES, due)
            assert sorted(leased) == sorted([kept.timer, moved.timer])
            await holds.keep(kept)  # clicked while the auto-resume runs
            await holds.extend(moved, moved.resume_at, timedelta(minutes=30))
            await holds.settle(TimerKind.RESUMES, kept.timer, lease, due + timedelta(minutes=1))
            await holds.settle(TimerKind.RESUMES, moved.timer, lease, None)
        finally:
            await client.aclose()

    asyncio.run(clicked_while_leased())
    run_replicas(replica_settings, slack, timedelta(hours=2))  # past every due time

    assert [(w.operation, w.endpoint_uid) for w in convoy.writes()] == [("activate", moved_uid)], (
        "Keep paused stays cancelled; the extended timer survives the finished lease"
    )
    assert convoy.endpoint(kept_uid)["status"] == "paused"


def test_timer_messages_reach_the_pauser_when_the_channel_cannot(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """The bot is not in the channel: the auto-resume report goes to the pauser directly."""
    slack.fail_channel("C0INCIDENT", "not_in_channel")
    endpoint = convoy.add_endpoint("orders-api")
    sent = sender.command(operator, "pause orders-api for 30m")
    reply_to(slack, sent.token, count=2)  # the announcement via the response URL, the hint

    assert run_replicas(replica_settings, slack, timedelta(minutes=31)) == [1]
    tried = [c for c in slack.api_calls("chat.postMessage") if "resumed automatically" in c.text]
    assert [(c.payload["channel"], c.answer["ok"]) for c in tried] == [
        ("C0INCIDENT", False),
        (OPERATOR, True),
    ]
    assert convoy.endpoint(str(endpoint["uid"]))["status"] == "active"


# --- timers that survive faults ---------------------------------------------------------


def _thread_posts(slack: FakeSlack, announcement: SlackCall, needle: str) -> list[SlackCall]:
    return [
        c
        for c in slack.api_calls("chat.postMessage")
        if c.payload.get("thread_ts") == announcement.answer["ts"] and needle in c.text
    ]


def test_a_failed_auto_resume_is_retried_until_it_works(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Convoy fails the auto-resume twice: each failure is said once in the thread with the
    next attempt's time, the timer stands meanwhile, and the third attempt resumes, once."""
    uid, post = _timed_pause(convoy, slack, sender)
    convoy.set_fault("get", status=500, times=2)  # the reads under the auto-resume's lock

    run_replicas(
        replica_settings,
        slack,
        timedelta(minutes=31),  # attempt 1 fails: next in 30 s
        timedelta(minutes=31, seconds=40),  # attempt 2 fails: next in 1 min
        timedelta(minutes=32),  # not due yet: nothing
        timedelta(minutes=33),  # attempt 3 resumes
    )

    failures = _thread_posts(slack, post, "The auto-resume of")
    assert ["(attempt 1)" in failures[0].text, "(attempt 2)" in failures[1].text] == [True, True]
    assert len(failures) == 2
    assert all("tries again at" in f.text and "still paused" in f.text for f in failures)
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"
    assert len(_thread_posts(slack, post, "resumed automatically")) == 1


def test_an_auto_resume_whose_write_did_not_land_is_tried_again(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """`/activate` answers 500 and did not apply: "not confirmed", then (read again) "did not
    take effect", and the timer, still standing, resumes it on its next attempt."""
    uid, post = _timed_pause(convoy, slack, sender)
    convoy.set_fault("activate", status=500, times=1)
    settle = replica_settings.model_copy(update={"convoy_bot_settle_seconds": 20.0})

    run_replicas(
        settle,
        slack,
        timedelta(minutes=31),  # the write's answer is lost: in doubt
        timedelta(minutes=31, seconds=45),  # settled (deadline 10 s + 20 s): did not take effect
        timedelta(minutes=32, seconds=30),  # the timer, still standing, tries again
    )

    assert _thread_posts(slack, post, "is *not confirmed*")
    assert _thread_posts(slack, post, "*did not take effect*")
    assert [w.operation for w in convoy.writes()] == ["pause", "activate", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"
    assert len(_thread_posts(slack, post, "resumed automatically")) == 1


def test_replicas_whose_clocks_disagree_resume_on_time(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """A replica whose own clock runs ten minutes ahead reads Redis's time: it does not
    resume a 30-minute pause at minute 25; the pause resumes at its due time, once."""
    uid, _ = _timed_pause(convoy, slack, sender)

    def ahead() -> datetime:
        return datetime.now(UTC) + timedelta(minutes=10)

    async def scenario() -> list[list[str]]:
        infra = replica(replica_settings, wall=ahead)
        runtimes = ProjectRuntimes(infra)
        scheduler = build_scheduler(infra, runtimes)
        seen = []
        try:
            for minutes in (25, 31):
                await infra.redis.set(redis_keys.clock_offset(), minutes * 60)
                await scheduler.tick()
                seen.append([w.operation for w in convoy.writes()])
        finally:
            await infra.redis.delete(redis_keys.clock_offset())
            await runtimes.aclose()
            await infra.aclose()
        return seen

    at_25, at_31 = asyncio.run(scenario())

    assert at_25 == ["pause"], "resumed early by a replica whose clock runs ahead"
    assert at_31 == ["pause", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"


def test_extend_on_the_reminder_retimes_the_announcement(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Extend clicked on the reminder moves the time on the announcement too: no message of
    the pause keeps promising the old time."""
    _, post = _timed_pause(convoy, slack, sender)
    run_replicas(replica_settings, slack, timedelta(minutes=26))
    reminder = post_with(slack, "resumes automatically in")
    extend = button(reminder, ids.EXTEND_BUTTON)
    old_due = int(float(json.loads(extend["value"])["due"]))

    click = sender.click(operator, ids.EXTEND_BUTTON, extend["value"], message=message(reminder))
    updates = eventually(
        lambda: (found := slack.api_calls("chat.update"))[1:] and found, what="two updates"
    )

    by_ts = {u.payload["ts"]: u for u in updates}
    announcement, renewed = by_ts[post.answer["ts"]], by_ts[reminder.answer["ts"]]
    new_due = f"<!date^{old_due + 1800}^"
    assert new_due in announcement.text
    assert f"<!date^{old_due}^" not in announcement.text
    assert "extended the pause" in announcement.text
    assert "*Auto-resume:*" in announcement.text
    assert find_button(announcement, ids.EXTEND_BUTTON)
    assert new_due in renewed.text
    assert slack.replies(click.token) == []


def test_keep_paused_on_the_announcement_retimes_the_reminder(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    replica_settings: Settings,
) -> None:
    """Keep paused on the announcement: the reminder no longer promises an auto-resume either."""
    _, post = _timed_pause(convoy, slack, sender)
    run_replicas(replica_settings, slack, timedelta(minutes=26))
    reminder = post_with(slack, "resumes automatically in")
    keep = button(post, ids.KEEP_BUTTON)

    sender.click(operator, ids.KEEP_BUTTON, keep["value"], message=message(post))
    updates = eventually(
        lambda: (found := slack.api_calls("chat.update"))[1:] and found, what="two updates"
    )

    by_ts = {u.payload["ts"]: u for u in updates}
    announcement, renewed = by_ts[post.answer["ts"]], by_ts[reminder.answer["ts"]]
    assert "*Auto-resume:* none" in announcement.text
    assert find_button(announcement, ids.RESUME_BUTTON)
    assert find_button(announcement, ids.EXTEND_BUTTON) is None
    assert "will not be resumed automatically" in renewed.text
    assert find_button(renewed, ids.EXTEND_BUTTON) is None


def test_redis_data_loss_is_noticed_and_old_buttons_ask_convoy(
    tmp_path: Path,
    convoy: FakeConvoy,
    slack: FakeSlack,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Redis comes back empty under a running bot: the bot says so (log, /metrics, /status)
    and writes its marker again; the Resume and Extend buttons of a pause still in effect ask
    Convoy and offer an ordinary resume, never claiming the pause is over."""
    own = start_test_redis(tmp_path / "redis")
    try:
        bot = bot_factory(REDIS_URL=own.url)
        sender = sender_to(bot)
        uid, post = _timed_pause(convoy, slack, sender, user=ADMIN)
        with own.client() as client:
            client.flushdb()  # Redis restarted without its data

        def lost() -> int:
            return int(httpx.get(f"{bot.url}/status").json()["redis_data_lost"]["times"])

        eventually(lambda: lost() == 1, what="the bot noticing the loss")
        resume = sender.click(
            ADMIN,
            ids.RESUME_BUTTON,
            button(post, ids.RESUME_BUTTON)["value"],
            message=message(post),
        )
        offer = eventually(lambda: slack.replies(resume.token), what="the offer")[0]
        extend = sender.click(
            ADMIN,
            ids.EXTEND_BUTTON,
            button(post, ids.EXTEND_BUTTON)["value"],
            message=message(post),
        )
        extended = reply_to(slack, extend.token)[0]  # its lock is released before the resume
        sender.click(
            ADMIN, f"{ids.PICK_ENDPOINT}_0", button(offer, f"{ids.PICK_ENDPOINT}_0")["value"]
        )
        resumed = post_with(slack, "was *resumed*")
    finally:
        own.stop()

    assert "starting with an empty Redis state" in bot.log()
    assert "Redis lost its data under the running bot" in bot.log()
    assert "convoy_bot_redis_data_losses_total 1.0" in httpx.get(f"{bot.url}/metrics").text
    assert "has no record of the pause this button was made for" in offer.text
    assert "still *paused*" in offer.text
    assert "No auto-resume will come" in extended
    assert "by <@U0ADMIN>" in resumed.text
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"


def test_paused_never_releases_a_newer_pause(
    convoy: FakeConvoy,
    slack: FakeSlack,
    operator: str,
    replica_settings: Settings,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """`/convoy paused` finds a pause ended outside the bot while a new one is being made:
    it releases nothing of the new pause, shows it, and its timer still resumes it."""
    # Convoy may take its time: the listing's read is held until the new pause is made.
    sender = sender_to(bot_factory(CONVOY_TIMEOUT_SECONDS="15"))
    uid, _ = _timed_pause(convoy, slack, sender)
    convoy.set_status(uid, "active")  # resumed in Convoy's dashboard
    made = threading.Event()
    # The listing's look at Convoy reads "active", and answers once the new pause is made.
    convoy.set_fault("get", answer_after=lambda: made.wait(30), times=1)

    with convoy_receives(convoy, "get", what="its GET"):
        listing = sender.command(operator, "paused")
    sender.command(operator, "pause orders-api for 30m second incident")
    post_with(slack, "second incident")
    made.set()
    (shown,) = reply_to(slack, listing.token)

    assert "second incident" in shown
    assert "no longer paused in Convoy" not in shown
    run_replicas(replica_settings, slack, timedelta(minutes=31))
    assert [w.operation for w in convoy.writes()] == ["pause", "pause", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"


@pytest.mark.parametrize(("typed", "seconds"), [("30 minutes", 1800), ("1 hour", 3600)])
def test_a_duration_in_words_makes_a_timed_pause(
    typed: str,
    seconds: int,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
) -> None:
    """`for 30 minutes` and `for 1 hour` set the timer; the words are not in the reason."""
    convoy.add_endpoint("orders-api")

    asked_at = datetime.now(UTC).timestamp()
    sender.command(operator, f"pause orders-api for {typed} customer fixing TLS")
    post = post_with(slack, "was *paused*")

    due = float(json.loads(button(post, ids.EXTEND_BUTTON)["value"])["due"])
    assert "*Auto-resume:*" in post.text
    assert asked_at + seconds <= due < asked_at + seconds + 60  # counted from the pause
    assert "*Reason:* customer fixing TLS" in post.text
