"""Neighbours failing: Convoy, Redis and Slack. The user hears what happened; nothing lies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import redis

from bot.locks import EndpointLocks
from bot.settings import Settings
from bot.store import redis_client
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
from tests.helpers import reply_to
from tests.slack_requests import SlackSender

# --- Convoy -------------------------------------------------------------------------------


def test_convoy_connection_refused(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    slack: FakeSlack,
    operator: str,
) -> None:
    """Nothing listening at CONVOY_API_URL: 'could not be reached', no channel post."""
    dead = bot_factory(CONVOY_API_URL=f"http://127.0.0.1:{free_port()}/api")

    sent = sender_to(dead).command(operator, "pause orders-api")

    assert "Convoy could not be reached." in reply_to(slack, sent.token)[0]
    assert slack.api_calls("chat.postMessage") == []


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
        (reply,) = reply_to(slack, sent.token)
        assert expected in reply
        assert "did not take effect" in reply
        assert slack.api_calls("chat.postMessage") == []
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


def test_redis_killed_mid_pause_then_restarted(
    own_redis_bot: OwnRedisBot,
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
) -> None:
    """A pause already checked and locked finishes; then the bot fails closed; then recovers."""
    endpoint = convoy.add_endpoint("orders-api")
    sender = sender_to(own_redis_bot.bot)
    # Redis dies while the GET under the lock is at Convoy: after the checks, before the write.
    convoy.set_fault("get", meanwhile=own_redis_bot.redis.stop, times=1)

    sender.command(ADMIN, f"pause {endpoint['uid']}")
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the announcement")
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"

    denied = sender.command(ADMIN, f"resume {endpoint['uid']}")
    assert "The access store (Redis) is unavailable" in reply_to(slack, denied.token)[0]
    assert len(convoy.writes()) == 1

    own_redis_bot.restart_redis()
    resumed = sender.command(ADMIN, f"resume {endpoint['uid']}")
    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 2, what="the resume")
    assert resumed.response.status_code == 200
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


def test_stale_lock_of_a_crashed_replica_expires(
    redis_server: RedisServer,
    store: redis.Redis,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
) -> None:
    """A lock left by a replica that died mid-change blocks only until its TTL runs out."""
    endpoint = convoy.add_endpoint("orders-api")
    ttl = Settings.model_fields["convoy_bot_lock_ttl_seconds"].default  # the bots' own TTL

    async def crash_holding_the_lock() -> str:
        client = redis_client(redis_server.url)
        locks = EndpointLocks(client, ttl_seconds=ttl)
        holder = locks.hold(convoy.project_id, endpoint["uid"], "orders-api")
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

    for endpoint in endpoints[:2]:
        sender.command(operator, f"pause {endpoint['uid']}")
    eventually(lambda: len(slack.api_calls("chat.postMessage")) == 2, what="two pauses")
    third = sender.command(operator, f"pause {endpoints[2]['uid']}")

    assert "more than 2 changes in a minute" in reply_to(slack, third.token)[0]
    assert len(convoy.writes()) == 2
