"""Neighbours failing: Convoy, Redis and Slack. The user hears what happened; nothing lies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
import redis

from bot import redis_keys
from bot.access.roles import Role
from bot.change.locks import EndpointLocks
from bot.settings import Settings
from bot.store import redis_client
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import free_port
from tests.fakes.slack import FakeSlack
from tests.harness import (
    ADMIN,
    BotProcess,
    OwnRedisBot,
    RedisServer,
    eventually,
)
from tests.helpers import (
    APPROVER,
    REQUESTER,
    button,
    channel_posts,
    message,
    metric,
    post_with,
    reply_to,
)
from tests.slack_requests import SlackSender

# --- Convoy -------------------------------------------------------------------------------


def test_convoy_connection_refused(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    slack: FakeSlack,
    operator: str,
) -> None:
    """Nothing listening at CONVOY_API_URL: 'could not be reached', no channel post; the
    replica stays ready (its Redis answers) and /status names Convoy as the trouble."""
    dead = bot_factory(CONVOY_API_URL=f"http://127.0.0.1:{free_port()}/api")

    sent = sender_to(dead).command(operator, "pause orders-api")
    ready = httpx.get(f"{dead.url}/readyz", timeout=5)
    status = httpx.get(f"{dead.url}/status", timeout=10).json()

    assert "Convoy could not be reached." in reply_to(slack, sent.token)[0]
    assert slack.api_calls("chat.postMessage") == []
    assert ready.status_code == 200
    assert status["convoy"] == {"default": "Convoy could not be reached."}


@pytest.mark.parametrize(
    ("fault", "final", "expected"),
    [
        (
            {"delay": 2.5, "apply_before_delay": True},
            "active",
            "status read back from Convoy: active",
        ),
        ({"status": 502}, "paused", "Convoy had an internal error (HTTP 502)"),
        ({"status": 503}, "paused", "Convoy had an internal error (HTTP 503)"),
    ],
)
def test_activate_faults_are_read_back_never_repeated(
    fault: dict[str, object],
    final: str,
    expected: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
) -> None:
    """POST /activate timing out or failing: one POST, and the report matches Convoy's state."""
    endpoint = convoy.add_endpoint("orders-api", status="paused")
    convoy.set_fault("activate", times=1, **fault)  # type: ignore[arg-type]  # test table

    sent = sender.command(operator, f"resume {endpoint['uid']}")

    if final == "active":
        post = eventually(lambda: slack.api_calls("chat.postMessage"), what="the post")[0]
        assert "*New status:* active" in post.text
        assert expected in post.text
    else:
        # Convoy may still apply it: "not confirmed" at once, the truth once read again.
        posts = eventually(
            lambda: (found := slack.api_calls("chat.postMessage"))[1:] and found,
            what="the report and its settled result",
        )
        assert expected in posts[0].text
        assert "is *not confirmed*" in posts[0].text
        assert "*did not take effect*" in posts[1].text
        assert slack.replies(sent.token) == [], "the channel heard it: no private copy"
    assert len(convoy.writes()) == 1
    assert convoy.endpoint(endpoint["uid"])["status"] == final


def test_status_false_envelope_is_not_trusted(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """A 200 whose envelope says `status: false` is an error, not an endpoint."""
    endpoint = convoy.add_endpoint("orders-api")
    convoy.set_fault("get", status=200, message="something odd")

    sent = sender.command(operator, f"pause {endpoint['uid']}")

    assert "did not report success" in reply_to(slack, sent.token)[0]
    assert convoy.writes() == []


def test_convoy_429_is_surfaced_not_retried(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """A 429 on the pause itself: one PUT, Retry-After passed on, nothing announced."""
    endpoint = convoy.add_endpoint("orders-api")
    convoy.set_fault("pause", status=429, retry_after=30)

    sent = sender.command(operator, f"pause {endpoint['uid']}")

    assert "Try again in 30 s." in reply_to(slack, sent.token)[0]
    assert len(convoy.writes()) == 1
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


# --- Redis --------------------------------------------------------------------------------


@pytest.mark.single_node
def test_redis_killed_mid_pause_then_restarted(
    bot_with_own_redis: Callable[..., OwnRedisBot],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
) -> None:
    """Redis dies while a pause reads Convoy under its lock: the bot can neither confirm its
    lock nor record the write, so it sends nothing and says so; then fails closed; then
    recovers."""
    own = bot_with_own_redis()
    endpoint = convoy.add_endpoint("orders-api")
    sender = sender_to(own.bot)
    # Redis dies while the GET under the lock is at Convoy: after the checks, before the write.
    convoy.set_fault("get", meanwhile=own.redis.stop, times=1)

    cut_off = sender.command(ADMIN, f"pause {endpoint['uid']}")
    assert "The access store (Redis) is unavailable" in reply_to(slack, cut_off.token)[0]
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"

    denied = sender.command(ADMIN, f"resume {endpoint['uid']}")
    assert "The access store (Redis) is unavailable" in reply_to(slack, denied.token)[0]
    assert convoy.writes() == []

    own.restart_redis()
    paused = sender.command(ADMIN, f"pause {endpoint['uid']}")
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause")
    assert paused.response.status_code == 200
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert len(convoy.writes()) == 1


@pytest.mark.single_node
def test_scheduler_survives_failing_ticks_and_later_ticks_work(
    bot_with_own_redis: Callable[..., OwnRedisBot],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
) -> None:
    """Redis freezing under a running bot: its scheduler ticks fail and say so in the log, the
    bot keeps serving, and once Redis is back a timed pause that fell due is resumed."""
    own = bot_with_own_redis(
        CONVOY_BOT_MOVABLE_CLOCK="true", CONVOY_BOT_SCHEDULER_INTERVAL_SECONDS="0.1"
    )
    endpoint = convoy.add_endpoint("orders-api")
    sender_to(own.bot).command(ADMIN, "pause orders-api for 30m deploy")
    paused = post_with(slack, "was *paused*")
    eventually(  # the pause is told and booked: no write of it is left unsettled
        lambda: httpx.get(f"{own.bot.url}/status").json()["background"]["writes_unsettled"] == 0,
        what="the pause's bookkeeping",
    )

    assert isinstance(own.redis, RedisServer)  # single_node
    os.kill(own.redis.process.pid, signal.SIGSTOP)  # frozen: every Redis call times out
    try:
        eventually(
            lambda: "scheduler tick failed" in own.bot.log(), timeout=30, what="a failed tick"
        )
        health = httpx.get(f"{own.bot.url}/healthz", timeout=10)
        ready = httpx.get(f"{own.bot.url}/readyz", timeout=10)
    finally:
        os.kill(own.redis.process.pid, signal.SIGCONT)
    client = own.redis.client()
    client.set(redis_keys.clock_offset(), timedelta(minutes=31).total_seconds())
    client.close()

    resumed = post_with(slack, "resumed automatically")
    assert (health.status_code, ready.status_code) == (200, 503)
    assert resumed.payload["thread_ts"] == paused.answer["ts"]
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


def test_stale_lock_of_a_crashed_replica_expires(
    redis_server: RedisServer,
    store: redis.Redis,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
    scope: str,
) -> None:
    """A lock left by a replica that died mid-change blocks only until its TTL runs out."""
    endpoint = convoy.add_endpoint("orders-api")
    ttl = Settings.model_fields["convoy_bot_lock_ttl_seconds"].default  # the bots' own TTL

    async def crash_holding_the_lock() -> str:
        client = redis_client(redis_server.url)
        locks = EndpointLocks(client, ttl_seconds=ttl)
        holder = locks.hold(scope, endpoint["uid"], "orders-api")
        held = await holder.__aenter__()  # never exited: the replica "crashed"
        await client.aclose()
        return held.key

    lock = asyncio.run(crash_holding_the_lock())
    busy = sender.command(operator, f"pause {endpoint['uid']}")
    assert "Someone is changing" in reply_to(slack, busy.token)[0]
    assert convoy.writes() == []
    # The lock carries Redis's own expiry (PX), so it does run out; when it does, Redis forgets
    # the key. Deleting it is that moment, without waiting the two minutes.
    assert 0 < store.pttl(lock) <= ttl * 1000
    store.delete(lock)
    sender.command(operator, f"pause {endpoint['uid']}")

    eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause after expiry")
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


# --- Slack --------------------------------------------------------------------------------


def test_chat_post_429_is_retried_after_retry_after(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """chat.postMessage rate-limited once: posted on the retry, exactly once."""
    convoy.add_endpoint("orders-api")
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)

    sender.command(operator, "pause orders-api")

    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 2, what="the retry")
    statuses = [c.answer.get("status", 200) for c in slack.api_calls("chat.postMessage")]
    assert statuses == [429, 200]


@pytest.mark.parametrize("error", ["invalid_auth", "channel_not_found", "not_in_channel"])
def test_channel_post_failures_leave_the_pause_and_tell_the_user(
    error: str, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """The pause stands whatever Slack says; the user learns what could not be posted."""
    endpoint = convoy.add_endpoint("orders-api")
    channel = "C0INCIDENT"
    if error == "invalid_auth":
        slack.fail_method("chat.postMessage", error)  # a token revoked while the bot runs
    elif error == "channel_not_found":
        channel = "C0PRIVATE"  # a private channel the bot was never added to
    else:
        slack.remove_bot()

    sent = sender.command(operator, "pause orders-api", channel_id=channel)

    replies = reply_to(slack, sent.token, count=2 if error != "invalid_auth" else 1)
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    tried = slack.api_calls("chat.postMessage")
    assert [(c.payload["channel"], c.answer["error"]) for c in tried] == [(channel, error)]
    if error == "invalid_auth":
        assert f"could not post it in the channel ({error})" in replies[0]
        assert "was paused by <@U0OPERATOR>. New status: paused." in replies[0]
    else:
        public = [
            c for c in slack.replies(sent.token) if c.payload["response_type"] == "in_channel"
        ]
        assert len(public) == 1
        assert "was *paused* by <@U0OPERATOR>" in public[0].text
        assert any("Invite me with `/invite @Convoy`" in r for r in replies)


@pytest.mark.parametrize(
    ("hook", "status", "expected"),
    [
        ("T0/B0/gone", 404, "refused the post (HTTP 404)"),
        ("T0/B0/broken", 500, "refused the post (HTTP 500)"),
        ("redirect/T0/B0/x", 200, "refused the post (HTTP 302)"),
        ("slow/T0/B0/x", 200, "did not answer in time"),
    ],
)
def test_webhook_faults_are_reported_never_followed(
    hook: str,
    status: int,
    expected: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
) -> None:
    """Webhook 404/500/redirect/timeout: reported in the channel; redirects are not followed."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook(hook))
    slack.set_webhook_status(status)

    sender.command(operator, "pause orders-api")

    post = eventually(lambda: slack.api_calls("chat.postMessage"), timeout=15, what="the post")[0]
    assert expected in post.text
    assert slack.elsewhere() == [], "a redirect was followed"
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


PRIVATE_FAILED = {"target": "private", "result": "failed"}
SLACK_POSTS = "convoy_bot_slack_posts_total"


def test_private_replies_refused_by_slack_are_counted_and_stop_nothing(
    bot: BotProcess, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Slack refusing the response URL: /metrics counts the lost private reply; a pause still
    lands and is announced in the channel."""
    endpoint = convoy.add_endpoint("orders-api")
    lost_before = metric(bot, SLACK_POSTS, **PRIVATE_FAILED)
    slack.fail_response_urls(status=500, body="internal_error")

    status = sender.command(operator, "status orders-api")
    eventually(lambda: slack.refused_replies(status.token), what="the refused reply")
    sender.command(operator, "pause orders-api")
    post = channel_posts(slack)[0]

    assert slack.replies(status.token) == []
    eventually(lambda: metric(bot, SLACK_POSTS, **PRIVATE_FAILED) > lost_before, what="a count")
    assert metric(bot, SLACK_POSTS, **PRIVATE_FAILED) == lost_before + 1
    assert "was *paused* by <@U0OPERATOR>" in post.text
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


@pytest.mark.usefixtures("team")
def test_request_updated_through_the_click_when_chat_update_is_refused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Bot removed from the channel after posting a request: chat.update is refused, and the
    Approve click's own response URL replaces the message instead."""
    convoy.add_endpoint("orders-api")
    sender.command(REQUESTER, "pause orders-api")
    request = channel_posts(slack)[0]
    slack.remove_bot()

    approve = button(request, ids.APPROVE_BUTTON)["value"]
    click = sender.click(APPROVER, ids.APPROVE_BUTTON, approve, message=message(request))

    reply_to(slack, click.token, count=2)
    (update,) = slack.api_calls("chat.update")
    assert update.answer == {"ok": False, "error": "not_in_channel"}
    (replaced,) = [c for c in slack.replies(click.token) if c.payload.get("replace_original")]
    assert "*Approved* by <@U0APPROVER>" in replaced.text
    assert "was *paused*" in replaced.text
    assert ids.APPROVE_BUTTON not in json.dumps(replaced.payload["blocks"])
    assert any("Done:" in c.text for c in slack.replies(click.token))
    assert [w.operation for w in convoy.writes()] == ["pause"]
    # The requester is told last. Wait for it, so that it cannot reach the next test's Slack
    # (it once did, and that test read it as its own).
    (notice,) = eventually(lambda: slack.api_calls("chat.postEphemeral"), what="requester notice")
    assert notice.payload["user"] == REQUESTER
    assert "approved your request" in notice.text


@pytest.mark.usefixtures("team")
def test_approval_stands_when_slack_refuses_the_update_and_its_fallback(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Request message deleted and the click's response URL down: one PUT, the requester still
    hears, and a later click is told the request was already approved."""
    endpoint = convoy.add_endpoint("orders-api")
    sender.command(REQUESTER, "pause orders-api")
    request = channel_posts(slack)[0]
    approve = button(request, ids.APPROVE_BUTTON)["value"]
    slack.delete_message("C0INCIDENT", request.answer["ts"])
    slack.fail_response_urls(status=500, body="internal_error")

    click = sender.click(APPROVER, ids.APPROVE_BUTTON, approve, message=message(request))

    notice = eventually(lambda: slack.api_calls("chat.postEphemeral"), what="requester notice")
    assert (notice[0].payload["user"], notice[0].accepted) == (REQUESTER, True)
    assert "approved your request" in notice[0].text
    assert [c.answer["error"] for c in slack.api_calls("chat.update")] == ["message_not_found"]
    assert slack.replies(click.token) == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    slack.reset()  # Slack is back
    grant("U0APPROVER2", Role.APPROVER)
    late = sender.click("U0APPROVER2", ids.APPROVE_BUTTON, approve, message=message(request))
    assert "already approved by <@U0APPROVER>" in reply_to(slack, late.token)[0]
    assert [w.operation for w in convoy.writes()] == ["pause"]


@pytest.mark.usefixtures("team")
def test_request_nobody_could_see_is_withdrawn(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Bot not in the channel and the response URL down: the request is taken back, so asking
    again once Slack is back posts it instead of saying it was already asked."""
    convoy.add_endpoint("orders-api")
    slack.remove_bot()
    slack.fail_response_urls(status=500, body="internal_error")

    first = sender.command(REQUESTER, "pause orders-api")
    # The request through the response URL, then the private answer: both refused.
    eventually(lambda: len(slack.refused_replies(first.token)) >= 2, what="two refused posts")
    slack.reset()  # Slack is back, and the bot in the channel
    again = sender.command(REQUESTER, "pause orders-api")

    assert "is posted in this channel" in reply_to(slack, again.token)[0]
    assert button(channel_posts(slack)[0], ids.APPROVE_BUTTON)
    assert convoy.writes() == []


def test_per_user_rate_limit(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
    operator: str,
) -> None:
    """The third change in a minute (limit 2) is refused clearly; Convoy sees two writes."""
    limited = bot_factory(CONVOY_BOT_CHANGES_PER_MINUTE="2")
    sender = sender_to(limited)
    endpoints = [convoy.add_endpoint(f"svc-{n}") for n in range(3)]
    # The limit counts per minute of the shared clock (Redis TIME, this machine's clock): the
    # three changes must fall in one minute, so none is sent in a minute's last 15 seconds.
    if (into_minute := time.time() % 60) > 45:
        time.sleep(60 - into_minute + 0.5)

    for endpoint in endpoints[:2]:
        sender.command(operator, f"pause {endpoint['uid']}")
    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 2, what="two pauses")
    third = sender.command(operator, f"pause {endpoints[2]['uid']}")

    assert "more than 2 changes in a minute" in reply_to(slack, third.token)[0]
    assert len(convoy.writes()) == 2
