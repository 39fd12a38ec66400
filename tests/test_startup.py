"""Start-up, the embedded Redis, the roles CLI and shutdown, run as a user would run them."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import FakeSlack
from tests.harness import (
    ADMIN,
    BotProcess,
    RedisServer,
    bot_env,
    clean_env,
    eventually,
    run_cli,
    start_bot,
)
from tests.slack_requests import SlackSender


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {},
            "convoy-bot: missing required setting SLACK_BOT_TOKEN",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CONVOY_PROJECT_ID": "p"},
            "convoy-bot: missing required setting CONVOY_API_KEY",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "CONVOY_API_KEY": "k", "CONVOY_PROJECT_ID": "p"},
            "convoy-bot: missing required setting SLACK_SIGNING_SECRET "
            "(needed unless SLACK_APP_TOKEN is set)",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "CONVOY_API_KEY": "k",
                "CONVOY_PROJECT_ID": "p",
                "PORT": "eighty",
            },
            "convoy-bot: malformed setting PORT (Input should be a valid integer",
        ),
        (
            {
                "SLACK_BOT_TOKEN": "not-a-bot-token",
                "SLACK_SIGNING_SECRET": "s",
                "CONVOY_API_KEY": "k",
                "CONVOY_PROJECT_ID": "p",
            },
            "convoy-bot: malformed setting SLACK_BOT_TOKEN (Value error, must be a bot token",
        ),
    ],
)
def test_bad_settings_stop_startup_with_one_line(
    settings: dict[str, str], line: str, tmp_path: Path
) -> None:
    """A missing or malformed setting: one line naming it on stderr, exit code 2, no traceback."""
    result = run_cli({**clean_env(), **settings}, tmp_path, "serve")

    assert result.returncode == 2
    assert result.stderr.strip().startswith(line)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "not-a-bot-token" not in result.stderr


def test_unreachable_redis_url_stops_startup(tmp_path: Path) -> None:
    """REDIS_URL pointing at nothing: a clear line and exit 2."""
    env = {
        **clean_env(),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "CONVOY_API_KEY": "k",
        "CONVOY_PROJECT_ID": "p",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "PORT": str(free_port()),
    }

    result = run_cli(env, tmp_path, "serve")

    assert result.returncode == 2
    assert "cannot reach Redis at REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_embedded_redis_starts_persists_and_stops(
    tmp_path: Path,
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> None:
    """Without REDIS_URL the bot runs its own Redis under ./.convoy-bot and stops it on SIGTERM."""
    env = bot_env(convoy_fake[1].url, slack_fake[1].url, "", free_port())
    del env["REDIS_URL"]
    bot = start_bot(env, tmp_path)
    socket_path = tmp_path / ".convoy-bot" / "redis.sock"

    ready = httpx.get(f"{bot.url}/readyz", timeout=5)
    grant = run_cli(clean_env(), tmp_path, "roles", "grant", "U0CLI", "operator")
    bot.process.send_signal(signal.SIGTERM)
    code = bot.process.wait(timeout=20)

    assert ready.json() == {"redis": "ok"}
    eventually(lambda: "project default: Convoy answers for its project" in bot.log())
    assert [r.operation for r in convoy.requests] == ["project"], "start-up asked Convoy once"
    assert socket_path.parent.is_dir()
    assert "starting an embedded Redis" in bot.log()
    assert grant.returncode == 0, grant.stderr
    assert code == 0
    assert not socket_path.exists(), "the embedded Redis was stopped"
    assert (tmp_path / ".convoy-bot" / "appendonly.aof").exists() or any(
        (tmp_path / ".convoy-bot").glob("appendonlydir*")
    )
    again = run_cli(clean_env(), tmp_path, "roles", "list")
    assert "U0CLI\t*\toperator" in again.stdout, "the grant survived the restart"


def test_roles_cli_grants_lists_and_revokes(redis_server: RedisServer, tmp_path: Path) -> None:
    """`convoy-bot roles` writes the same store the bot reads, per project and globally."""
    env = {
        **clean_env(),
        "REDIS_URL": redis_server.url,
        "CONVOY_BOT_ADMINS": "U0BOOT",
        "CONVOY_PROJECT_ID": "P1",
        "CONVOY_API_KEY": "k",
        "CONVOY_PROJECT_ALIAS": "payments",
    }
    redis_server.client().flushdb()

    granted = run_cli(env, tmp_path, "roles", "grant", "U0ALICE", "approver", "--project", "P1")
    run_cli(env, tmp_path, "roles", "grant", "U0BOB", "viewer")
    listed = run_cli(env, tmp_path, "roles", "list", "--project", "P1")
    revoked = run_cli(env, tmp_path, "roles", "revoke", "U0ALICE", "--project", "P1")
    after = run_cli(env, tmp_path, "roles", "list")
    wrong = run_cli(env, tmp_path, "roles", "grant", "U0BOB", "superuser")
    unknown = run_cli(env, tmp_path, "roles", "grant", "U0BOB", "viewer", "--project", "P2")

    assert granted.stdout.strip() == "granted approver to U0ALICE in payments"
    assert listed.stdout.splitlines() == [
        "U0BOOT\t*\tadmin",
        "U0ALICE\tpayments\tapprover",
        "U0BOB\t*\tviewer",
    ]
    assert revoked.stdout.strip() == "revoked U0ALICE's role in payments"
    assert unknown.returncode == 1
    assert "There is no project `P2` (projects: `payments`" in unknown.stderr
    assert "U0ALICE" not in after.stdout
    assert wrong.returncode == 1
    assert "`superuser` is not a role" in wrong.stderr


def test_sigterm_lets_a_pause_in_flight_finish(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy: FakeConvoy,
    slack: FakeSlack,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """A pause acked just before SIGTERM is still made and announced; then the bot exits 0."""
    endpoint = convoy.add_endpoint("orders-api")
    bot = start_bot(bot_env(convoy_fake[1].url, slack.url, redis_server.url, free_port()), tmp_path)
    # SIGTERM arrives while the pause's GET is at Convoy, after the command was acked.
    convoy.set_fault("get", meanwhile=lambda: bot.process.send_signal(signal.SIGTERM), times=1)

    sent = sender_to(bot).command(ADMIN, f"pause {endpoint['uid']}")
    code = bot.process.wait(timeout=20)

    assert sent.response.status_code == 200
    assert code == 0
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the announcement")
