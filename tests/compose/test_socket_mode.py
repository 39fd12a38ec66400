"""Socket Mode end to end: Slack's envelopes over a websocket instead of signed HTTP requests,
with the health, readiness, status and metrics endpoints still served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.socket_mode import APP_TOKEN
from tests.harness import RedisServer, bot_env, eventually, run_cli, start_bot
from tests.helpers import button, message
from tests.slack_requests import SlackSender


def _socket_env(convoy_url: str, slack_url: str, redis_url: str, app_token: str) -> dict[str, str]:
    """A bot's settings for Socket Mode: the app-level token, and no signing secret."""
    env = bot_env(convoy_url, slack_url, redis_url, free_port())
    del env["SLACK_SIGNING_SECRET"]
    env["SLACK_APP_TOKEN"] = app_token
    return env


def _fields(body: bytes) -> dict[str, Any]:
    """A form body built as Slack builds it, as the fields Socket Mode sends as JSON."""
    fields = dict(parse_qsl(body.decode()))
    if set(fields) == {"payload"}:
        loaded: dict[str, Any] = json.loads(fields["payload"])
        return loaded
    return fields


def test_a_pause_and_its_resume_click_over_socket_mode(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    slack: FakeSlack,
    convoy: FakeConvoy,
    operator: str,
) -> None:
    """With SLACK_APP_TOKEN and no signing secret, the bot opens Slack's websocket; a slash
    command and a Resume click arrive as envelopes, each acked on the socket, and reach Convoy
    exactly once each. /healthz, /readyz, /status and /metrics answer over HTTP meanwhile, and
    there is no unsigned events endpoint to post to."""
    env = _socket_env(convoy_fake[1].url, slack.url, redis_server.url, APP_TOKEN)
    bot = start_bot(env, tmp_path)  # it waits for /healthz: served in Socket Mode too
    socket = slack.socket_mode
    eventually(lambda: socket.connections, what="the bot's websocket")
    endpoint = convoy.add_endpoint("orders-api")
    slack_like = SlackSender(
        bot.url, "", slack_fake[1].url, slack.issue_response_url, slack.issue_trigger
    )

    typed = slack_like.command_body(operator, "pause orders-api bad payloads", "C0INCIDENT", "t1")
    command = _fields(typed)
    command_envelope = socket.send("slash_commands", command)
    command_ack = eventually(lambda: socket.ack(command_envelope), what="the command's ack")
    post = eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause post")[0]
    resume = button(post, ids.RESUME_BUTTON)["value"]
    click = _fields(
        slack_like.click_body(operator, ids.RESUME_BUTTON, resume, "t2", message=message(post))
    )
    click_envelope = socket.send("interactive", click)
    eventually(lambda: socket.ack(click_envelope), what="the click's ack")
    eventually(lambda: len(convoy.writes()) == 2 or None, what="the resume")
    health = httpx.get(f"{bot.url}/healthz", timeout=5)
    ready = httpx.get(f"{bot.url}/readyz", timeout=5)
    status = httpx.get(f"{bot.url}/status", timeout=10).json()
    metrics = httpx.get(f"{bot.url}/metrics", timeout=5).text
    events = httpx.post(f"{bot.url}/slack/events", content=b"command=/convoy", timeout=5)
    slack_like.close()
    bot.stop()

    assert "Pausing *orders-api*" in command_ack["payload"]["text"]
    assert [(w.operation, w.endpoint_uid) for w in convoy.writes()] == [
        ("pause", endpoint["uid"]),
        ("activate", endpoint["uid"]),
    ]
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
    assert health.text == "ok"
    assert ready.status_code == 200
    assert status["slack"]["state"] == "ok"
    assert 'convoy_bot_commands_total{kind="pause",result="paused"} 1.0' in metrics
    assert events.status_code == 404
    assert "mode: Socket Mode" in bot.log()
    assert "Traceback" not in bot.log()


def test_an_app_token_slack_refuses_stops_startup(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack: FakeSlack,
) -> None:
    """A wrong or revoked SLACK_APP_TOKEN: one line and exit 2 at start-up, instead of Socket
    Mode retrying in silence; the token is not printed."""
    revoked = "xapp-1-A0CONVOY-revoked-value"
    env = _socket_env(convoy_fake[1].url, slack.url, redis_server.url, revoked)
    connections = slack.socket_mode.connections

    result = run_cli(env, tmp_path, "serve")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "convoy-bot: Slack refused SLACK_APP_TOKEN (apps.connections.open answered "
        "invalid_auth): create an app-level token with the connections:write scope (Basic "
        "Information, App-Level Tokens) and set it again"
    ]
    assert slack.socket_mode.connections == connections, "no websocket was opened"


def test_socket_mode_with_slack_unreachable_still_serves_and_says_so(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
) -> None:
    """Slack not answering at start-up in Socket Mode: the SDK keeps trying to connect in the
    background while /healthz and /readyz answer and /status names Slack as unreachable; the
    SDK's failed attempts are logged without a traceback."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = _socket_env(convoy_fake[1].url, nowhere, redis_server.url, APP_TOKEN)
    bot = start_bot(env, tmp_path)

    ready = httpx.get(f"{bot.url}/readyz", timeout=5)
    status = httpx.get(f"{bot.url}/status", timeout=10).json()
    eventually(lambda: "Failed to connect" in bot.log(), what="a failed connection attempt")
    bot.stop()

    assert ready.status_code == 200
    assert status["slack"]["state"] == "unreachable"
    assert status["convoy"] == {"default": "ok"}
    assert "Traceback" not in bot.log()
