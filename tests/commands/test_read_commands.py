"""`help`, `status` and `list`: private answers with what a responder needs to see."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from bot.access.roles import Role
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import BotProcess
from tests.helpers import reply_to
from tests.slack_requests import SlackSender

VIEWER = "U0VIEWER"


def test_help_shows_usage_and_the_callers_role(
    slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Empty text, `help` and an unknown subcommand all answer with usage and the role."""
    grant(VIEWER, Role.VIEWER)

    empty = sender.command(VIEWER, "")
    unknown = sender.command(VIEWER, "frobnicate now")
    stranger = sender.command("U0NOBODY", "help")

    assert "`/convoy pause <endpoint> [for 30m] [reason…]`" in reply_to(slack, empty.token)[0]
    assert "Your role: *viewer*" in reply_to(slack, empty.token)[0]
    assert "Unknown command `frobnicate`" in reply_to(slack, unknown.token)[0]
    assert "Your role: *none*" in reply_to(slack, stranger.token)[0]
    assert empty.response.text == "", "nothing to show before the real answer"


def test_status_shows_name_uid_status_host_and_failure_rate(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Status is private and has the endpoint's essentials, without its URL path."""
    endpoint = convoy.add_endpoint(
        "orders-api", status="paused", url="https://hooks.acme.test/in/abc", failure_rate=12.5
    )
    grant(VIEWER, Role.VIEWER)

    sent = sender.command(VIEWER, "status orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert f"*orders-api* (`{endpoint['uid']}`) is *paused*" in reply
    assert "Host: `hooks.acme.test`" in reply
    assert "Failure rate: 12.5%" in reply
    assert "/in/abc" not in reply
    assert slack.replies(sent.token)[0].payload["response_type"] == "ephemeral"
    assert convoy.writes() == []


def test_list_puts_paused_first_and_pages_through_convoy(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """All 130 matches are counted across Convoy's pages; paused ones are listed first."""
    for number in range(128):
        convoy.add_endpoint(f"svc-{number:03d}")
    convoy.add_endpoint("svc-paused", status="paused")
    convoy.add_endpoint("svc-inactive", status="inactive")
    convoy.add_endpoint("unrelated")
    grant(VIEWER, Role.VIEWER)

    sent = sender.command(VIEWER, "list svc")

    (reply,) = reply_to(slack, sent.token)
    assert "*130 endpoint(s)*, 1 paused, matching 'svc'" in reply
    assert reply.index("svc-paused") < reply.index("svc-inactive") < reply.index("svc-000")
    assert "…and 90 more" in reply
    assert "unrelated" not in reply
    pages = [r for r in convoy.requests if r.operation == "list"]
    assert len(pages) == 2
    assert pages[1].query["direction"] == ["next"]


def test_health_readiness_and_metrics(
    bot: BotProcess, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """/healthz answers; /readyz checks this replica's Redis only, so a Convoy outage (or a
    revoked key) keeps it serving clear messages, while /status names the project's trouble;
    /metrics counts commands."""
    sent = sender.command("U0NOBODY", "help")
    reply_to(slack, sent.token)

    health = httpx.get(f"{bot.url}/healthz")
    ready = httpx.get(f"{bot.url}/readyz")
    status = httpx.get(f"{bot.url}/status").json()
    convoy.set_fault("project", status=401)
    still_ready = httpx.get(f"{bot.url}/readyz")
    troubled = httpx.get(f"{bot.url}/status").json()
    metrics = httpx.get(f"{bot.url}/metrics")

    assert health.status_code == 200
    assert ready.json() == {"redis": "ok"}
    assert status["convoy"] == {"default": "ok"}
    assert still_ready.status_code == 200
    assert "credentials" in troubled["convoy"]["default"]
    assert 'convoy_bot_commands_total{kind="help",result="help"}' in metrics.text
