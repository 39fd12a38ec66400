"""`convoy-bot`'s command line: its help, its version, and the same answers as chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
