"""The operator's log: with LOG_FORMAT=json, one JSON object per line carrying the request's
context, error lines that name what failed, and never a secret."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import PROJECT, BotProcess, eventually
from tests.helpers import reply_to
from tests.slack_requests import SlackSender

MARKER = "zz-log-secret-4c1d"


def _entries(bot: BotProcess) -> list[dict[str, object]]:
    """Every line of the bot's log, each parsed as JSON (a line that is not fails the test)."""
    return [json.loads(line) for line in bot.log().splitlines() if line.strip()]


def _request_line(bot: BotProcess, command: str) -> dict[str, object] | None:
    found = [
        entry
        for entry in _entries(bot)
        if entry.get("command") == command and "outcome" in entry and entry["level"] != "DEBUG"
    ]
    return found[-1] if found else None


def test_json_log_lines_carry_the_request_and_name_what_failed(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
    operator: str,
) -> None:
    """A pause logs one JSON line with who, what, which project and endpoint, how it ended and
    how long it took; a Convoy failure names the call, its host and status; no secret of the
    endpoint (its URL, its secrets) and no traceback is in the log."""
    json_bot = bot_factory(LOG_FORMAT="json")
    sender = sender_to(json_bot)
    endpoint = convoy.add_endpoint(
        "orders-api",
        url=f"https://receiver.example.com/{MARKER}?token={MARKER}",
        secret_marker=MARKER,
    )
    uid = str(endpoint["uid"])

    sender.command(operator, "pause orders-api bad payloads")
    paused = eventually(lambda: _request_line(json_bot, "pause"), what="the pause's log line")
    convoy.set_fault("get", status=503)
    refused = sender.command(operator, f"status {uid}")
    assert "Convoy had an internal error (HTTP 503)" in reply_to(slack, refused.token)[0]
    failed = eventually(lambda: _request_line(json_bot, "status"), what="the status's log line")

    assert paused["user"] == operator
    assert paused["project"] == "default"
    assert paused["endpoint"] == uid
    assert paused["level"] == "INFO"
    assert isinstance(paused["outcome"], str)
    assert paused["outcome"]
    assert isinstance(paused["duration_ms"], int)
    assert failed["outcome"] == "ConvoyUnavailable"
    assert failed["level"] == "WARNING"
    assert failed["message"] == (
        "request failed: ConvoyUnavailable: Convoy GET 127.0.0.1 "
        f"/v1/projects/{PROJECT}/endpoints/{uid} answered 503"
    )
    started = [entry["message"] for entry in _entries(json_bot)]
    assert any(str(m).startswith("Slack: workspace Example") for m in started)
    assert MARKER not in json_bot.log()
    assert "Traceback" not in json_bot.log()
