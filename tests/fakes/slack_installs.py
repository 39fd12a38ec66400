"""The fake Slack's workspaces, bot tokens and OAuth, as strict as Slack's.

Each bot token belongs to one installation: a workspace, or (org-wide) every workspace of an
Enterprise Grid org. A call with a token reaches only its installation's channels and users
(another workspace's channel is `channel_not_found`, its user `user_not_found`); an expired
token is `token_expired`. `oauth.v2.access` exchanges a code once (`invalid_code` after),
refuses a wrong client (`invalid_client_id`, `bad_client_secret`), and with token rotation
hands out refresh tokens that are spent once (`invalid_refresh_token` on the second use).
"""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_TEAM = "T0EXAMPLE"
CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret"  # the fake app's, for tests only
TOKEN_LIFETIME = 12 * 3600  # seconds, with token rotation on
SCOPES = "commands,chat:write,usergroups:read,channels:read,groups:read"


@dataclass(frozen=True)
class Grant:
    """What one bot token may reach, and until when."""

    team_id: str  # "" for an org-wide install
    enterprise_id: str
    org_wide: bool
    bot_user_id: str
    bot_id: str
    expires_at: float | None = None

    def covers(self, team: str, teams: dict[str, str]) -> bool:
        """Whether the token reaches a workspace (its own; every one of its org org-wide)."""
        if self.org_wide:
            return teams.get(team) == self.enterprise_id
        return team == self.team_id


@dataclass(frozen=True)
class _Approval:
    team_id: str
    enterprise_id: str
    org_wide: bool
    user_id: str
    expires_in: int | None


class SlackInstalls:
    """The workspaces, the tokens issued to the app, and the OAuth exchange."""

    def __init__(self, default_token: str) -> None:
        self.teams: dict[str, str] = {DEFAULT_TEAM: ""}  # team -> its enterprise ("" for none)
        self.user_teams: dict[str, str] = {}  # users said to belong to one workspace only
        self._grants = {
            default_token: Grant(DEFAULT_TEAM, "", False, "UBOTCONVOY", "B0CONVOY"),
        }
        self._codes: dict[str, _Approval] = {}
        self._refresh: dict[str, _Approval] = {}
        self._serial = itertools.count(1)
        self.refreshes = 0  # refresh grants honoured

    def add_team(self, team_id: str, enterprise_id: str = "") -> None:
        self.teams[team_id] = enterprise_id

    def approve(
        self,
        team_id: str = "",
        *,
        enterprise_id: str = "",
        org_wide: bool = False,
        user_id: str = "U0INSTALLER",
        expires_in: int | None = None,
    ) -> str:
        """Someone approved the install on Slack's consent page: the code the redirect
        carries. `expires_in`: the app has token rotation on, tokens live that long."""
        if team_id:
            self.teams.setdefault(team_id, enterprise_id)
        code = f"code-{secrets.token_hex(6)}"
        self._codes[code] = _Approval(team_id, enterprise_id, org_wide, user_id, expires_in)
        return code

    def token_of(self, team_or_enterprise: str) -> str:
        """The last bot token issued to a workspace (or org)."""
        return [
            t for t, g in self._grants.items() if team_or_enterprise in (g.team_id, g.enterprise_id)
        ][-1]

    def grant_of(self, token: str) -> Grant | None:
        return self._grants.get(token)

    def uninstall(self, team_or_enterprise: str) -> None:
        """The app removed: its tokens stop working."""
        for token, grant in list(self._grants.items()):
            if team_or_enterprise in (grant.team_id, grant.enterprise_id if grant.org_wide else ""):
                del self._grants[token]

    def exchange(self, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        """oauth.v2.access: a code for tokens, or (rotation) a refresh token for new ones."""
        client_id, client_secret = _client(payload, headers)
        if client_id != CLIENT_ID:
            return {"ok": False, "error": "invalid_client_id"}
        if client_secret != CLIENT_SECRET:
            return {"ok": False, "error": "bad_client_secret"}
        if payload.get("grant_type") == "refresh_token":
            approval = self._refresh.pop(str(payload.get("refresh_token", "")), None)
            if approval is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            self.refreshes += 1
            # A refreshed token lives Slack's twelve hours, whatever the first one's life.
            return self._tokens(replace(approval, expires_in=TOKEN_LIFETIME))
        approval = self._codes.pop(str(payload.get("code", "")), None)
        if approval is None:
            return {"ok": False, "error": "invalid_code"}
        return self._tokens(approval)

    def _tokens(self, approval: _Approval) -> dict[str, Any]:
        where = approval.enterprise_id if approval.org_wide else approval.team_id
        token = f"xoxb-{where}-{next(self._serial)}-{secrets.token_hex(4)}"
        expires_at = time.time() + approval.expires_in if approval.expires_in else None
        grant = Grant(
            "" if approval.org_wide else approval.team_id,
            approval.enterprise_id,
            approval.org_wide,
            f"UBOT{where}",
            f"BBOT{where}",
            expires_at,
        )
        self._grants[token] = grant
        answer: dict[str, Any] = {
            "ok": True,
            "app_id": "A0CONVOY",
            "authed_user": {"id": approval.user_id},
            "scope": SCOPES,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": grant.bot_user_id,
            "team": None
            if approval.org_wide
            else {"id": approval.team_id, "name": f"Team {where}"},
            "enterprise": (
                {"id": approval.enterprise_id, "name": f"Org {approval.enterprise_id}"}
                if approval.enterprise_id
                else None
            ),
            "is_enterprise_install": approval.org_wide,
        }
        if approval.expires_in:
            refresh = f"xoxe-1-{secrets.token_hex(8)}"
            self._refresh[refresh] = approval
            answer.update(refresh_token=refresh, expires_in=approval.expires_in)
        return answer

    def identity(self, grant: Grant) -> dict[str, Any]:
        """auth.test: whose token it is."""
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": "convoy",
            "team_id": grant.team_id or grant.enterprise_id,
            "enterprise_id": grant.enterprise_id or None,
            "user_id": grant.bot_user_id,
            "bot_id": grant.bot_id,
            "is_enterprise_install": grant.org_wide,
        }


def _client(payload: dict[str, Any], headers: dict[str, str]) -> tuple[str, str]:
    """The app's credentials: HTTP Basic (as slack_sdk sends them) or form fields."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and value:
        client_id, _, client_secret = base64.b64decode(value).decode().partition(":")
        return client_id, client_secret
    return str(payload.get("client_id", "")), str(payload.get("client_secret", ""))
