"""The audit trail: one entry per state change or refusal, readable in Slack and on the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import RedisServer, clean_env, run_cli
from tests.helpers import (
    APPROVER,
    OPERATOR,
    REQUESTER,
    AuditRecord,
    button,
    channel_posts,
    deny,
    message,
    reply_to,
)
from tests.slack_requests import SlackSender


def _wait_post(slack: FakeSlack, count: int = 1) -> SlackCall:
    """The `count`-th channel post, once it has arrived."""
    return channel_posts(slack, count)[count - 1]


@dataclass(frozen=True)
class World:
    """What a path step acts on."""

    convoy: FakeConvoy
    slack: FakeSlack
    sender: SlackSender
    uid: str


PathRun = Callable[[World], None]


def _pause(w: World) -> None:
    w.sender.command(OPERATOR, "pause orders-api bad payloads")
    _wait_post(w.slack)


def _already_paused(w: World) -> None:
    w.convoy.set_status(w.uid, "paused")
    reply_to(w.slack, w.sender.command(OPERATOR, "pause orders-api").token)


def _resume(w: World) -> None:
    w.convoy.set_status(w.uid, "paused")
    w.sender.command(OPERATOR, "resume orders-api fixed")
    _wait_post(w.slack)


def _refused(w: World) -> None:
    reply_to(w.slack, w.sender.command("U0VIEWER", "pause orders-api").token)


def _convoy_down(w: World) -> None:
    w.convoy.set_fault("get", status=503)
    reply_to(w.slack, w.sender.command(OPERATOR, f"pause {w.uid}").token)


def _unknown(w: World) -> None:
    reply_to(w.slack, w.sender.command(OPERATOR, "pause nothing-like-it").token)


def _request(w: World) -> None:
    w.sender.command(REQUESTER, "pause orders-api please")
    _wait_post(w.slack)


def _approve(w: World) -> None:
    post = _wait_post(w.slack)
    value = button(post, ids.APPROVE_BUTTON)["value"]
    reply_to(
        w.slack, w.sender.click(APPROVER, ids.APPROVE_BUTTON, value, message=message(post)).token
    )


def _deny(w: World) -> None:
    reply_to(w.slack, deny(w.sender, w.slack, APPROVER, _wait_post(w.slack), "not now").token)


def _self_approve(w: World) -> None:
    post = _wait_post(w.slack)
    value = button(post, ids.APPROVE_BUTTON)["value"]
    reply_to(
        w.slack, w.sender.click(REQUESTER, ids.APPROVE_BUTTON, value, message=message(post)).token
    )


def _resume_button(w: World) -> None:
    post = _wait_post(w.slack)
    value = button(post, ids.RESUME_BUTTON)["value"]
    w.sender.click(OPERATOR, ids.RESUME_BUTTON, value, message=message(post))
    _wait_post(w.slack, 2)


# (name, setup steps not counted, the step counted, expected fields of its one entry)
PATHS: list[tuple[str, list[PathRun], PathRun, dict[str, str]]] = [
    (
        "pause",
        [],
        _pause,
        {
            "actor": OPERATOR,
            "command": "pause",
            "outcome": "paused",
            "convoy_status": "202",
            "reason": "bad payloads",
        },
    ),
    (
        "already paused",
        [],
        _already_paused,
        {"command": "pause", "outcome": "already paused", "convoy_status": ""},
    ),
    ("resume", [], _resume, {"command": "resume", "outcome": "resumed", "convoy_status": "202"}),
    (
        "refused",
        [],
        _refused,
        {
            "actor": "U0VIEWER",
            "outcome": "refused",
            "endpoint_uid": "",
            "endpoint_name": "orders-api",
        },
    ),
    (
        "convoy down",
        [],
        _convoy_down,
        {"outcome": "failed", "convoy_status": "503", "endpoint_name": ""},
    ),
    (
        "unknown endpoint",
        [],
        _unknown,
        {"outcome": "failed", "endpoint_uid": "", "endpoint_name": "nothing-like-it"},
    ),
    ("request", [], _request, {"actor": REQUESTER, "outcome": "approval requested"}),
    (
        "approve",
        [_request],
        _approve,
        {
            "actor": REQUESTER,
            "approver": APPROVER,
            "command": "pause (approve)",
            "outcome": "approved: paused",
            "convoy_status": "202",
        },
    ),
    (
        "deny",
        [_request],
        _deny,
        {
            "actor": REQUESTER,
            "approver": APPROVER,
            "outcome": "denied",
            "detail": "denied because: not now",
        },
    ),
    ("self-approval", [_request], _self_approve, {"actor": REQUESTER, "outcome": "refused"}),
    ("resume button", [_pause], _resume_button, {"command": "resume button", "outcome": "resumed"}),
]


@pytest.mark.usefixtures("team")
@pytest.mark.parametrize(("name", "setup", "step", "expected"), PATHS, ids=[p[0] for p in PATHS])
def test_every_path_leaves_exactly_one_entry(
    name: str,
    setup: list[PathRun],
    step: PathRun,
    expected: dict[str, str],
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    audit_entries: Callable[..., list[AuditRecord]],
    scope: str,
) -> None:
    """Each path appends one entry with who, what, which endpoint, outcome and Convoy status."""
    endpoint = convoy.add_endpoint("orders-api")
    world = World(convoy, slack, sender, str(endpoint["uid"]))
    for run in setup:
        run(world)  # each setup step is a path of its own here: one entry each

    step(world)

    entries = audit_entries()  # read as an export would: `convoy-bot audit --json`
    assert len(entries) == len(setup) + 1, f"{name}: {entries}"
    entry = entries[0]
    assert entry.project == scope
    assert entry.time.endswith("+00:00")
    expected = {"endpoint_uid": endpoint["uid"], "endpoint_name": "orders-api", **expected}
    for field_name, value in expected.items():
        assert getattr(entry, field_name) == value, field_name


@pytest.mark.usefixtures("team")
def test_audit_command_shows_entries_newest_first(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """`/convoy audit orders-api` lists that endpoint's entries, newest first, privately."""
    endpoint = convoy.add_endpoint("orders-api")
    convoy.add_endpoint("billing-api")
    sender.command(OPERATOR, "pause orders-api first")
    _wait_post(slack)
    sender.command(OPERATOR, "pause billing-api")
    _wait_post(slack, 2)
    sender.command(OPERATOR, f"resume {endpoint['uid']} second")
    _wait_post(slack, 3)

    sent = sender.command("U0VIEWER", "audit orders-api --limit 5")

    (reply,) = reply_to(slack, sent.token)
    assert "billing-api" not in reply
    assert reply.index("resume *orders-api* → *resumed*") < reply.index(
        "pause *orders-api* → *paused*"
    )
    assert "(Convoy 202)" in reply
    assert slack.replies(sent.token)[0].payload["response_type"] == "ephemeral"


def test_cli_audit_json_parses(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    """`convoy-bot audit --endpoint X --since 24h --json` prints a JSON array of entries."""
    convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)
    sender.command(OPERATOR, "pause orders-api")
    _wait_post(slack)

    env = {**clean_env(), "REDIS_URL": redis_server.url}
    result = run_cli(env, tmp_path, "audit", "--endpoint", "orders-api", "--since", "24h", "--json")

    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [(e["actor"], e["command"], e["outcome"]) for e in entries] == [
        (OPERATOR, "pause", "paused")
    ]
    assert {"time", "approver", "endpoint_uid", "endpoint_name", "project", "convoy_status"} <= set(
        entries[0]
    )
