"""Who the bot is in Slack, and whether Slack answers: `auth.test`, at start-up and for `/status`.

A token Slack refuses stops start-up (the bot could do nothing); a Slack that does not
answer does not (it may be a passing outage, and the bot says so in its log and `/status`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock
from bot.logs import describe_failure

# auth.test's answers that mean the token itself is wrong, not that Slack is unwell.
TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "no_permission",
        "org_login_required",
        "team_access_not_granted",
    }
)


@dataclass(frozen=True)
class SlackState:
    """The last `auth.test`: its outcome (`ok`, `token refused`, `unreachable`), its detail
    (the workspace, or what failed), and when it was asked."""

    outcome: str
    detail: str
    checked: datetime | None = None
    team: str = ""
    team_id: str = ""
    bot_user: str = ""

    @property
    def token_refused(self) -> bool:
        return self.outcome == "token refused"

    def report(self) -> dict[str, str | None]:
        """For `/status`: nothing secret (the token is never part of it)."""
        return {
            "state": self.outcome,
            "detail": self.detail,
            "team": self.team or None,
            "checked": self.checked.isoformat(timespec="seconds") if self.checked else None,
        }


class SlackIdentity:
    """Asks Slack who the bot is, and keeps the last answer."""

    def __init__(self, client: AsyncWebClient, clock: Clock, timeout_seconds: float) -> None:
        self._client = client
        self._clock = clock
        self._timeout = timeout_seconds
        self.last = SlackState("unchecked", "auth.test not asked yet")

    async def recent(self, max_age: timedelta) -> SlackState:
        """The last answer if it is younger than max_age, else a new `auth.test`: a status
        page polled every few seconds does not become a stream of calls to Slack."""
        checked = self.last.checked
        if checked is not None and self._clock.now() - checked < max_age:
            return self.last
        return await self.check()

    async def check(self) -> SlackState:
        """One `auth.test` within the timeout; its outcome, also kept as `last`."""
        now = self._clock.now()
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._client.auth_test()
        except SlackApiError as exc:
            code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            outcome = "token refused" if code in TOKEN_REFUSED else "unreachable"
            self.last = SlackState(outcome, f"auth.test answered {code}", now)
        except (ClientError, TimeoutError, OSError) as exc:
            why = describe_failure(exc)
            self.last = SlackState("unreachable", f"auth.test failed: {why}", now)
        else:
            team, team_id = str(answer.get("team", "")), str(answer.get("team_id", ""))
            self.last = SlackState(
                "ok",
                f"workspace {team} ({team_id}) as @{answer.get('user', '')}",
                now,
                team=team,
                team_id=team_id,
                bot_user=str(answer.get("user_id", "")),
            )
        return self.last

    async def app_token_refused(self, app_token: str) -> str:
        """Socket Mode's token, asked with the call Socket Mode starts with
        (`apps.connections.open`; the URL it hands out is left to expire): Slack's error code
        when it refuses the token, else "" (also when Slack does not answer: the connection
        is then retried as Slack's SDK does)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "")
            return code if code in TOKEN_REFUSED else ""
        except (ClientError, TimeoutError, OSError):
            return ""
        return ""
