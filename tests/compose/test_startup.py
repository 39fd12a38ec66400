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
    PROJECT,
    BotProcess,
    RedisServer,
    bot_env,
    clean_env,
    eventually,
    run_cli,
    start_bot,
)
from tests.redis_cluster import ON_CLUSTER
from tests.slack_requests import SlackSender

REQUIRED = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "s",
    "CONVOY_API_KEY": "k",
    "CONVOY_PROJECT_ID": "p",
}


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        (
            {},
            "convoy-bot: missing required setting SLACK_BOT_TOKEN (needed unless SLACK_CLIENT_ID "
            "is set), SLACK_SIGNING_SECRET (needed unless SLACK_APP_TOKEN is set)",
        ),
        (
            {**REQUIRED, "SLACK_SIGNING_SECRET": ""},
            "convoy-bot: missing required setting SLACK_SIGNING_SECRET "
            "(needed unless SLACK_APP_TOKEN is set)",
        ),
        (
            {**REQUIRED, "SLACK_BOT_TOKEN": ""},
            "convoy-bot: missing required setting SLACK_BOT_TOKEN",
        ),
        (
            {**REQUIRED, "SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1.2"},
            "convoy-bot: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together",
        ),
        (
            {
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "s",
                "SLACK_SIGNING_SECRET": "s",
            },
            "convoy-bot: installable in many workspaces, the bot keeps their tokens encrypted: "
            "set CONVOY_BOT_SECRET_KEY",
        ),
        (
            {**REQUIRED, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"},
            "convoy-bot: installable in many workspaces, the bot keeps their tokens encrypted",
        ),
        (
            {
                **REQUIRED,
                "SLACK_CLIENT_ID": "1.2",
                "SLACK_CLIENT_SECRET": "s",
                "CONVOY_BOT_SECRET_KEY": "J2OHTXNz3Cqt8t9vl4wM5dMgWBJE3Xe0kcuoANgjXBw=",
            },
            "convoy-bot: CONVOY_PROJECT_ID names a project for one workspace",
        ),
        (
            {**REQUIRED, "CONVOY_API_KEY": ""},
            "convoy-bot: missing required setting CONVOY_API_KEY (required with CONVOY_PROJECT_ID)",
        ),
        (
            {**REQUIRED, "CONVOY_API_KEY": "   "},
            "convoy-bot: missing required setting CONVOY_API_KEY (required with CONVOY_PROJECT_ID)",
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
            {"CONVOY_PROJECT_ID": "p", "PORT": "eighty"},
            "convoy-bot: missing required setting CONVOY_API_KEY (required with "
            "CONVOY_PROJECT_ID), SLACK_BOT_TOKEN (needed unless SLACK_CLIENT_ID is set), "
            "SLACK_SIGNING_SECRET (needed unless SLACK_APP_TOKEN is set); "
            "malformed setting PORT (Input should be a valid integer",
        ),
        (
            {**REQUIRED, "PORT": "eighty"},
            "convoy-bot: malformed setting PORT (Input should be a valid integer",
        ),
        (
            {**REQUIRED, "SLACK_BOT_TOKEN": "not-a-bot-token"},
            "convoy-bot: malformed setting SLACK_BOT_TOKEN (must be a bot token starting with "
            "xoxb-)",
        ),
        (
            {**REQUIRED, "SLACK_APP_TOKEN": "xoxb-not-an-app-token"},
            "convoy-bot: malformed setting SLACK_APP_TOKEN (must be an app-level token starting "
            "with xapp-)",
        ),
        (
            {**REQUIRED, "CONVOY_API_URL": "us.getconvoy.cloud/api"},
            "convoy-bot: malformed setting CONVOY_API_URL (Input should be a valid URL",
        ),
        (
            {**REQUIRED, "REDIS_URL": "localhost:6379"},
            "convoy-bot: malformed setting REDIS_URL (must start with redis://, rediss://, "
            "unix:// or (a cluster) redis+cluster://)",
        ),
        (
            {**REQUIRED, "REDIS_URL": "redis+cluster://127.0.0.1:7000,127.0.0.1:99999"},
            "convoy-bot: malformed setting REDIS_URL (Port out of range 0-65535)",
        ),
        (
            {**REQUIRED, "REDIS_URL": "redis+cluster://"},
            "convoy-bot: malformed setting REDIS_URL (names no host:port)",
        ),
        (
            {**REQUIRED, "CONVOY_PROJECT_ALIAS": "Payments Team"},
            "convoy-bot: malformed setting CONVOY_PROJECT_ALIAS (`Payments Team` is not a project "
            "alias",
        ),
        (
            {**REQUIRED, "CONVOY_PROJECT_WEBHOOK_DETAIL": "some"},
            "convoy-bot: malformed setting CONVOY_PROJECT_WEBHOOK_DETAIL (Input should be 'full', "
            "'status' or 'off')",
        ),
        (
            {**REQUIRED, "CONVOY_TIMEOUT_SECONDS": "0"},
            "convoy-bot: malformed setting CONVOY_TIMEOUT_SECONDS (Input should be greater than 0)",
        ),
        (
            {**REQUIRED, "CONVOY_BOT_APPROVAL_TTL": "soon"},
            "convoy-bot: malformed setting CONVOY_BOT_APPROVAL_TTL (Input should be a valid "
            "timedelta",
        ),
        (
            {**REQUIRED, "CONVOY_BOT_MAX_PAUSE": "PT0S"},
            "convoy-bot: malformed setting CONVOY_BOT_MAX_PAUSE (must be a positive duration",
        ),
        (
            {**REQUIRED, "CONVOY_BOT_CHANGES_PER_MINUTE": "-1"},
            "convoy-bot: malformed setting CONVOY_BOT_CHANGES_PER_MINUTE (Input should be greater "
            "than or equal to 0)",
        ),
        (
            {**REQUIRED, "CONVOY_BOT_LOCK_TTL_SECONDS": "10"},
            "convoy-bot: malformed setting CONVOY_BOT_LOCK_TTL_SECONDS (must be at least 31",
        ),
        (
            {**REQUIRED, "CONVOY_BOT_ADMINS": "U0ALICE", "LOG_LEVEL": "chatty"},
            "convoy-bot: malformed setting LOG_LEVEL (Input should be 'DEBUG'",
        ),
        (
            {**REQUIRED, "LOG_FORMAT": "xml"},
            "convoy-bot: malformed setting LOG_FORMAT (Input should be 'text' or 'json')",
        ),
        (
            {**REQUIRED, "SLACK_WEBHOOK_URL_PREFIXES": "[", "CONVOY_BOT_SECRET_KEY": "not-fernet"},
            "convoy-bot: CONVOY_BOT_SECRET_KEY",
        ),
    ],
)
def test_bad_settings_stop_startup_with_one_line(
    settings: dict[str, str], line: str, tmp_path: Path
) -> None:
    """A missing, empty or malformed setting: one line naming it (every missing one at once)
    on stderr, exit code 2, no traceback, no value."""
    result = run_cli({**clean_env(), **settings}, tmp_path, "serve")

    assert result.stderr.strip().startswith(line)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "not-a-bot-token" not in result.stderr
    assert "not-fernet" not in result.stderr


def test_empty_lines_of_a_copied_template_name_what_is_missing(tmp_path: Path) -> None:
    """A `.env` with `SLACK_SIGNING_SECRET=` and `CONVOY_API_KEY=` left empty (as copied from
    .env.example) is "missing", said in one line, not a crash."""
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=\nCONVOY_PROJECT_ID=p\nCONVOY_API_KEY=\n"
        'PORT=""\n'
    )

    result = run_cli(clean_env(), tmp_path, "serve")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "convoy-bot: missing required setting CONVOY_API_KEY (required with CONVOY_PROJECT_ID), "
        "SLACK_SIGNING_SECRET (needed unless SLACK_APP_TOKEN is set)"
    ]


def test_a_token_slack_refuses_stops_startup(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack: FakeSlack,
) -> None:
    """A wrong or revoked bot token is found by `auth.test` at start: one line, exit 2, before
    any user meets Bolt's "reinstall" message; the token itself is not printed."""
    env = bot_env(convoy_fake[1].url, slack.url, redis_server.url, free_port())
    env["SLACK_BOT_TOKEN"] = "xoxb-revoked-token-value"

    result = run_cli(env, tmp_path, "serve")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "convoy-bot: Slack refused SLACK_BOT_TOKEN (auth.test answered invalid_auth): copy the "
        "Bot User OAuth Token (xoxb-…) again from the app's OAuth & Permissions page, or "
        "reinstall the app"
    ]
    assert [c.name for c in slack.calls] == ["auth.test"]


def test_unreachable_slack_starts_anyway_and_says_so(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
) -> None:
    """Slack not answering at start-up is a passing outage, not a bad setting: the bot serves,
    stays ready, and its log and /status say Slack is unreachable."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = bot_env(convoy_fake[1].url, nowhere, redis_server.url, free_port())
    bot = start_bot(env, tmp_path)

    ready = httpx.get(f"{bot.url}/readyz", timeout=5)
    status = httpx.get(f"{bot.url}/status", timeout=10).json()
    bot.stop()

    assert ready.status_code == 200
    assert status["slack"]["state"] == "unreachable"
    assert "auth.test failed" in status["slack"]["detail"]
    assert status["convoy"] == {"default": "ok"}
    assert (
        "Slack: auth.test failed: ClientConnectorError talking to 127.0.0.1; starting anyway"
        in bot.log()
    )


def test_startup_log_names_mode_workspace_projects_and_redis(
    bot: BotProcess, redis_server: RedisServer, convoy_fake: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """The log says how the bot runs, so a typo in a variable is visible at once: the mode,
    the Slack workspace, each project's Convoy URL and id, and where Redis is."""
    log = eventually(lambda: bot.log() if "project default: Convoy" in bot.log() else None)

    assert "mode: HTTP: Slack's requests at http://127.0.0.1:" in log
    assert "Slack: workspace Example (T0EXAMPLE) as @convoy" in log
    assert (
        f"project default: Convoy {convoy_fake[1].url}/api, project {PROJECT} "
        "(key from CONVOY_API_KEY)"
    ) in log
    if ON_CLUSTER:
        assert f"Redis: a Redis Cluster reached through 127.0.0.1:{redis_server.port}, " in log
    else:
        assert f"Redis: redis://127.0.0.1:{redis_server.port} database 0" in log
    assert "does not end in /api" not in log


def test_a_convoy_url_without_api_is_explained(
    bot_factory: Callable[..., BotProcess],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CONVOY_API_URL without its /api suffix: the log says what is wrong and what was meant,
    and /status names the project's trouble, while the bot stays ready."""
    # The bot's calls miss Convoy's /api on purpose here, so they are off Convoy's spec.
    monkeypatch.setattr(convoy, "check_contract", False)
    base = convoy_fake[1].url
    bot = bot_factory(CONVOY_API_URL=base)

    log = eventually(lambda: bot.log() if "does not end in /api" in bot.log() else None)
    status = httpx.get(f"{bot.url}/status", timeout=10).json()

    assert f"Did you mean {base}/api?" in log
    assert status["convoy"]["default"] != "ok"
    assert httpx.get(f"{bot.url}/readyz", timeout=5).status_code == 200


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


def test_status_reuses_a_recent_answer_from_slack(
    bot_factory: Callable[..., BotProcess], slack: FakeSlack
) -> None:
    """/status shows the workspace Slack named at start-up; polled again at once, it does not
    ask Slack again (a monitor polling /status is no stream of auth.test calls)."""
    fresh = bot_factory()
    first = httpx.get(f"{fresh.url}/status", timeout=10).json()
    second = httpx.get(f"{fresh.url}/status", timeout=10).json()

    assert first["slack"]["state"] == "ok"
    assert first["slack"]["team"] == "Example"
    assert second["slack"] == first["slack"]
    assert len(slack.api_calls("auth.test")) == 1, "only start-up's"
