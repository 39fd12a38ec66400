"""Small pure parts: webhook allow-list, uid shapes, settings errors, role names."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.access.roles import Role
from bot.compose.startup import describe_settings_error
from bot.convoy import looks_like_uid
from bot.errors import InvalidInput
from bot.logs import describe_failure
from bot.settings import Settings
from bot.webhooks import WebhookPoster

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/services/T/B/x", True),
        ("http://hooks.slack.com/services/T/B/x", False),
        ("https://hooks.slack.com@evil.test/services", False),
        ("https://hooks.slack.com.evil.test/services", False),
        ("https://evil.test/https://hooks.slack.com/", False),
        ("https://127.0.0.1/services", False),
        ("", False),
    ],
)
def test_webhook_allow_list(url: str, allowed: bool) -> None:
    """Only URLs under an allowed prefix, cut at a path boundary, are posted to."""
    poster = WebhookPoster(httpx.AsyncClient(), ["https://hooks.slack.com"])
    assert poster.allows(url) is allowed


def test_uid_shapes() -> None:
    """ULIDs and UUIDs look like uids; names do not."""
    assert looks_like_uid("01H0JA5MEES38RRK3HTEJC647K")
    assert looks_like_uid("3f1c9b8e-6d7a-4e2b-9c1d-0a1b2c3d4e5f")
    assert not looks_like_uid("orders-api")
    assert not looks_like_uid("01H0JA5MEES38RRK3HTEJC647K/../x")


def test_settings_errors_name_variables_not_values() -> None:
    """The start-up line names the variables, and never echoes a secret value."""
    with pytest.raises(ValidationError) as caught:
        Settings(
            _env_file=None,
            slack_bot_token="xapp-top-secret",
            convoy_project_id="p",
        )

    line = describe_settings_error(caught.value)

    assert line.startswith("convoy-bot: missing required setting CONVOY_API_KEY")
    assert "SLACK_SIGNING_SECRET (needed unless SLACK_APP_TOKEN is set)" in line
    assert "malformed setting SLACK_BOT_TOKEN (must be a bot token starting with xoxb-)" in line
    assert "top-secret" not in line


def test_role_names() -> None:
    """Roles parse case-insensitively, rank in order, and unknown names are refused."""
    assert Role.parse("Operator") is Role.OPERATOR
    assert Role.VIEWER < Role.REQUESTER < Role.OPERATOR < Role.APPROVER < Role.ADMIN
    with pytest.raises(InvalidInput, match="is not a role"):
        Role.parse("none")


def test_lock_must_outlive_the_convoy_calls_under_it() -> None:
    """A lock TTL shorter than three Convoy deadlines (plus a second) is refused at start-up."""
    with pytest.raises(ValidationError, match="CONVOY_BOT_LOCK_TTL_SECONDS"):
        Settings(
            _env_file=None,
            slack_bot_token="xoxb-1",
            slack_signing_secret="s",
            convoy_api_key="k",
            convoy_project_id="p",
            convoy_timeout_seconds=40,
            convoy_bot_lock_ttl_seconds=120,
        )


def test_failures_in_the_log_name_the_call_host_and_code_but_no_url_path() -> None:
    """An error line says which Slack method answered which code, or which host failed, and
    never the path of a URL (a Slack webhook's path is its secret)."""
    answer = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": False, "error": "channel_not_found"},
        headers={},
        status_code=200,
    )
    hook = httpx.Request("POST", "https://hooks.slack.com/services/T0/B0/secret-path")

    refused = SlackApiError("failed", answer)  # type: ignore[no-untyped-call]  # unannotated in slack_sdk

    assert describe_failure(refused) == "Slack chat.postMessage answered channel_not_found"
    assert (
        describe_failure(httpx.ConnectError("refused", request=hook))
        == "ConnectError talking to hooks.slack.com"
    )
    assert describe_failure(TimeoutError()) == "no answer in time"


def test_env_example_names_every_setting_and_only_those() -> None:
    """.env.example lists each variable the bot reads, once, and nothing it does not read."""
    text = (Path(__file__).parents[2] / ".env.example").read_text()
    named = re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE)

    assert sorted(named) == sorted(name.upper() for name in Settings.model_fields)
    assert len(named) == len(set(named))


def test_the_readme_settings_table_is_the_settings() -> None:
    """Each row of the README's settings table is a variable the bot reads, and each variable
    it reads has a row."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, flags=re.MULTILINE)

    assert sorted(rows) == sorted(name.upper() for name in Settings.model_fields)
