"""`convoy-bot`'s command line: its help, its version, and the same answers as chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.fakes.slack import FakeSlack
from tests.harness import ADMIN, RedisServer, clean_env, run_cli
from tests.helpers import reply_to
from tests.slack_requests import SlackSender


def test_version_and_help_answer_without_any_setting(tmp_path: Path) -> None:
    """`--version` and every `--help` work on a machine with no settings at all."""
    version = run_cli(clean_env(), tmp_path, "--version")
    helped = run_cli(clean_env(), tmp_path, "projects", "add", "--help")

    assert re.fullmatch(r"convoy-bot \d+\.\d+\.\d+\n", version.stdout)
    assert helped.returncode == 0
    assert "Add (or update) a project." in helped.stdout
    assert "--webhook-detail {full,status,off}" in helped.stdout


@pytest.mark.parametrize(
    ("chat", "cli", "said"),
    [
        (
            "roles grant alice operator",
            ("roles", "grant", "alice", "operator"),
            "`alice` is not a Slack user or user group id (U…, W… or S…). Nothing was changed.",
        ),
        (
            "roles revoke C0INCIDENT",
            ("roles", "revoke", "C0INCIDENT"),
            "`C0INCIDENT` is not a Slack user or user group id (U…, W… or S…). "
            "Nothing was changed.",
        ),
        (
            "roles grant U0ALICE superuser",
            ("roles", "grant", "U0ALICE", "superuser"),
            "`superuser` is not a role.",
        ),
    ],
)
def test_the_cli_refuses_what_chat_refuses_in_the_same_words(
    chat: str,
    cli: tuple[str, ...],
    said: str,
    slack: FakeSlack,
    sender: SlackSender,
    redis_server: RedisServer,
    store: object,
    tmp_path: Path,
) -> None:
    """A subject that is no Slack user or group id, or a role that does not exist, gets the
    same sentence in chat and from the CLI, and no grant is stored by either."""
    in_chat = reply_to(slack, sender.command(ADMIN, chat).token)[0]
    env = {**clean_env(), "REDIS_URL": redis_server.url}
    refused = run_cli(env, tmp_path, *cli)
    listed = run_cli(env, tmp_path, "roles", "list")

    assert said in in_chat
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"convoy-bot: {said}")
    assert len(refused.stderr.splitlines()) == 1
    assert listed.stdout == "", "nothing was granted"


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (("roles", "list"), {"REDIS_URL": "redis://localhost:99999/0"}, "REDIS_URL (Port out of"),
        (("roles", "list"), {"REDIS_URL": "redis://[::1/0"}, "REDIS_URL (Invalid IPv6 URL)"),
        (
            ("projects", "add", "x", "--api-url", "http://[::1/api", "--project-id", "P1"),
            {},
            "--api-url: The API URL is not an http(s) URL",
        ),
        (
            ("projects", "add", "x", "--api-url", "http://h:99999/api", "--project-id", "P1"),
            {},
            "--api-url: The API URL is not an http(s) URL",
        ),
        (
            ("projects", "import", "missing.json"),
            {},
            "cannot read missing.json: no such file or directory. Nothing was stored.",
        ),
        (("projects", "import", "."), {}, "cannot read .: is a directory. Nothing was stored."),
        (("audit", "--since", "soon"), {}, "--since takes a duration such as 90m or 24h"),
        (("audit", "--limit", "-5"), {}, "'-5' is not a whole number from 1 to 10^9"),
    ],
)
def test_every_mistake_on_the_command_line_is_one_line_and_exit_2(
    args: tuple[str, ...], env: dict[str, str], said: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    """Issue 21 item 7: a port out of range, a URL that does not parse, a file that cannot be
    read, a duration or a number that cannot be used: one line naming it, exit 2, never a
    traceback."""
    settings = {**clean_env(), "REDIS_URL": redis_server.url, "KEY": "k", **env}
    settings["CONVOY_BOT_SECRET_KEY"] = Fernet.generate_key().decode()
    extra = ("--api-key-env", "KEY") if args[:2] == ("projects", "add") else ()
    refused = run_cli(settings, tmp_path, *args, *extra)

    print(f"{' '.join(args)} -> exit {refused.returncode}: {refused.stderr.strip()}")  # noqa: T201
    assert refused.returncode == 2
    assert said in refused.stderr
    assert "Traceback" not in refused.stderr
    # argparse prints its usage above its one line of error; everything else is one line.
    assert len(refused.stderr.strip().splitlines()) == 1 or refused.stderr.startswith("usage:")


def test_a_huge_since_reads_the_whole_trail(redis_server: RedisServer, tmp_path: Path) -> None:
    """Issue 21 item 6: `audit --since 1000000000d` (beyond any date) lists the whole trail, as
    a window reaching further back than the trail would; no overflow, no traceback."""
    env = {**clean_env(), "REDIS_URL": redis_server.url}
    run_cli(env, tmp_path, "roles", "grant", "U0HUGE", "viewer")

    listed = run_cli(env, tmp_path, "audit", "--since", "1000000000d", "--endpoint", "")
    digits = run_cli(env, tmp_path, "audit", "--since", "9" * 5000 + "d")

    assert listed.returncode == digits.returncode == 0, listed.stderr + digits.stderr
    assert "U0HUGE" in listed.stdout
    assert listed.stdout == digits.stdout
