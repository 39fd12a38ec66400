"""A fake of the Slack Web API, response URLs and incoming webhooks, as strict as Slack.

What it refuses, as Slack does:

- a Web API call without a bot token of the app (`not_authed`, `invalid_auth`), with an expired
  one (`token_expired`), or reaching another workspace's channel or user with it
  (`channel_not_found`, `user_not_found`; tests.fakes.slack_installs); an org-wide token's
  usergroups.users.list without `team_id` (`missing_argument`);
- a post to a channel it does not know (`channel_not_found`), or to one the bot is not a member
  of (`not_in_channel`, for chat.postMessage and chat.update); a user id is a direct message
  and always works;
- chat.update of a message the bot never posted in that channel (`message_not_found`);
- chat.postEphemeral to a user who is not in the channel (`user_not_in_channel`);
- a response URL used more than five times (HTTP 404 `used_url`) or more than 30 minutes after
  it was issued (HTTP 404 `expired_url`); its clock moves with `advance`, not with sleeps;
- a message beyond Slack's Block Kit limits (`tests.fakes.block_kit`): the Web API answers
  `msg_too_long` or `invalid_blocks` (HTTP 200, `ok: false`), a response URL or an incoming
  webhook answers HTTP 400 with that word, and nothing is shown. Every refusal is also kept in
  `refusals`, which the test session holds empty for every test;
- views.open with a trigger id that Slack never issued (`invalid_trigger_id`), used already
  (`exchanged_trigger_id`) or issued more than 3 seconds ago (`expired_trigger_id`, by the
  same clock; `age_triggers` makes requests reach the bot late); views.update of a view that
  was never opened (`not_found`) or with a stale hash (`hash_conflict`); a view beyond the
  limits (`invalid_arguments`, with Slack's messages).

The workspace by default is convenient: channel `C0INCIDENT` has the bot and every user in it
(any `U…`/`W…` id is a user of the workspace). A test that needs otherwise says so with
`remove_bot`, `remove_user` or `add_channel`.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from tests.fakes.block_kit import message_problems, view_problems
from tests.fakes.slack_installs import DEFAULT_TEAM, Grant, SlackInstalls
from tests.fakes.socket_mode import PATH as SOCKET_PATH
from tests.fakes.socket_mode import SocketMode

DEFAULT_CHANNEL = "C0INCIDENT"
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0  # seconds
TRIGGER_LIFETIME = 3.0  # seconds
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_POSTING = ("chat.postMessage", "chat.update")
_MESSAGES = (*_POSTING, "chat.postEphemeral")
_VIEWS = ("views.open", "views.update", "views.publish")


@dataclass(frozen=True)
class SlackCall:
    """One request the bot made: a Web API method, a response-URL post or a webhook post."""

    kind: str  # "api", "response_url", "webhook" or "elsewhere"
    name: str  # API method, response-URL token or webhook path
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # What the fake answered: the Web API's JSON, or {"status": …, "body": …} for a response URL.
    answer: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def text(self) -> str:
        """The message text plus every text inside its blocks, for assertions."""
        return str(self.payload.get("text", "")) + "\n" + json.dumps(self.payload.get("blocks", []))

    @property
    def accepted(self) -> bool:
        """Slack took it: a Web API `ok`, a response-URL or webhook post answered 200."""
        if self.kind == "api":
            return bool(self.answer.get("ok"))
        return int(self.answer.get("status", 200)) == 200


@dataclass
class _Channel:
    team: str = DEFAULT_TEAM
    bot_member: bool = True
    everyone: bool = True  # every workspace user is a member, except those in `absent`
    members: set[str] = field(default_factory=set)
    absent: set[str] = field(default_factory=set)

    def has(self, user: str) -> bool:
        if self.everyone:
            return user not in self.absent
        return user in self.members


@dataclass
class _ResponseUrl:
    issued_at: float
    used: int = 0


@dataclass
class _Trigger:
    issued_at: float
    used: bool = False


class FakeSlack:
    """Records every call and answers as Slack would; tests switch faults on and off."""

    BOT_USER = "UBOTCONVOY"

    def __init__(self, bot_token: str) -> None:
        self.url = ""  # set once the server is listening
        self.bot_token = bot_token
        self.installs = SlackInstalls(bot_token)  # workspaces, tokens and OAuth
        self._lock = threading.Lock()
        self._calls: list[SlackCall] = []
        self._api_errors: dict[str, str] = {}
        self._webhook_status = 200
        self._groups: dict[str, list[str]] = {}
        self._rate_limited: dict[str, tuple[int, int]] = {}  # method -> (times left, seconds)
        self._closed_channels: dict[str, str] = {}  # channel -> forced error for posts there
        self._channels: dict[str, _Channel] = {DEFAULT_CHANNEL: _Channel()}
        self._response_url_fault: tuple[int, str] | None = None
        self._clock_offset = 0.0
        # What Slack keeps whatever a test resets: the messages the bot posted (channel, ts)
        # and the response URLs issued with commands and clicks.
        self._messages: set[tuple[str, str]] = set()
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._trigger_age = 0.0
        self._views: dict[str, dict[str, Any]] = {}  # open views by id, as Slack holds them
        self._refusals: list[str] = []
        self._ts = 1_700_000_000
        self.socket_mode = SocketMode()
        self.app = Starlette(
            routes=[
                WebSocketRoute(SOCKET_PATH, self.socket_mode.serve),
                Route("/api/{method}", self._api, methods=["POST", "GET"]),
                Route("/response/{token}", self._response_url, methods=["POST"]),
                Route("/hooks/{path:path}", self._webhook, methods=["POST"]),
                Route("/{path:path}", self._elsewhere, methods=["GET", "POST"]),
            ]
        )

    def reset(self) -> None:
        """Forget recorded calls, faults, channel changes and the clock's advance."""
        with self._lock:
            self._calls.clear()
            self._api_errors.clear()
            self._webhook_status = 200
            self._groups.clear()
            self._rate_limited.clear()
            self._closed_channels.clear()
            self._channels = {DEFAULT_CHANNEL: _Channel()}
            self.installs.user_teams.clear()
            self._response_url_fault = None
            self._clock_offset = 0.0
            self._trigger_age = 0.0
            self._views.clear()
            self._refusals.clear()

    # --- the workspace ------------------------------------------------------------------------

    def add_channel(
        self,
        channel: str,
        *,
        bot_member: bool = True,
        members: list[str] | None = None,
        team: str = DEFAULT_TEAM,
    ) -> None:
        """Another channel: with `members` only those users, else every user of the workspace
        (`team`: of another workspace, which only that workspace's tokens reach)."""
        with self._lock:
            self._channels[channel] = _Channel(
                team=team,
                bot_member=bot_member,
                everyone=members is None,
                members=set(members or []),
            )

    def remove_bot(self, channel: str = DEFAULT_CHANNEL) -> None:
        """The bot is not a member of `channel`: posts and updates there get `not_in_channel`."""
        with self._lock:
            self._channels[channel].bot_member = False

    def remove_user(self, user: str, channel: str = DEFAULT_CHANNEL) -> None:
        """`user` is not in `channel`: an ephemeral message to them there is refused."""
        with self._lock:
            found = self._channels[channel]
            found.absent.add(user)
            found.members.discard(user)

    def fail_channel(self, channel: str, error: str) -> None:
        """chat.postMessage to this channel (only) answers `ok: false` with error.

        `not_in_channel` is said the way Slack says it: the bot is not a member there.
        """
        if error == "not_in_channel":
            self.remove_bot(channel)
            return
        with self._lock:
            self._closed_channels[channel] = error

    def delete_message(self, channel: str, ts: str) -> None:
        """Someone deleted a message the bot posted: chat.update of it is `message_not_found`."""
        with self._lock:
            self._messages.discard((channel, ts))

    def set_group(self, group_id: str, members: list[str]) -> None:
        """What usergroups.users.list answers for one user group."""
        with self._lock:
            self._groups[group_id] = list(members)

    # --- faults and time ------------------------------------------------------------------

    def rate_limit(self, method: str, times: int, retry_after: int) -> None:
        """Answer the next `times` calls of method with 429 and Retry-After, posting nothing."""
        with self._lock:
            self._rate_limited[method] = (times, retry_after)

    def fail_method(self, method: str, error: str) -> None:
        """Every call of a Web API method answers `ok: false` with error."""
        with self._lock:
            self._api_errors[method] = error

    def fail_response_urls(self, status: int = 500, body: str = "internal_error") -> None:
        """Every response-URL post is refused with this status and body, showing nothing."""
        with self._lock:
            self._response_url_fault = (status, body)

    def set_webhook_status(self, status: int) -> None:
        with self._lock:
            self._webhook_status = status

    def now(self) -> float:
        """The fake's clock, in seconds: monotonic time plus what `advance` added."""
        with self._lock:
            return time.monotonic() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (response URLs expire by it)."""
        with self._lock:
            self._clock_offset += seconds

    def issue_response_url(self, token: str) -> str:
        """A response URL for one command or click, issued now; its address."""
        with self._lock:
            self._response_urls[token] = _ResponseUrl(time.monotonic() + self._clock_offset)
        return f"{self.url}/response/{token}"

    def issue_trigger(self, trigger_id: str) -> None:
        """A trigger id, sent with one command, click, shortcut or submission, issued now."""
        with self._lock:
            issued = time.monotonic() + self._clock_offset - self._trigger_age
            self._triggers[trigger_id] = _Trigger(issued)

    def age_triggers(self, seconds: float) -> None:
        """Trigger ids issued from now on are already this old: the requests that carry them
        reach the bot late (Slack was slow), so its views.open may come after they expired."""
        with self._lock:
            self._trigger_age = seconds

    # --- what was received ----------------------------------------------------------------

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def api_calls(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.kind == "api" and c.name == method]

    def replies(self, token: str) -> list[SlackCall]:
        """Posts to the response URL of one command or click that Slack showed."""
        return [
            c for c in self.calls if c.kind == "response_url" and c.name == token and c.accepted
        ]

    def refused_replies(self, token: str) -> list[SlackCall]:
        """Posts to the response URL of one command or click that Slack refused."""
        return [
            c for c in self.calls if c.kind == "response_url" and c.name == token and not c.accepted
        ]

    def hook(self, name: str = "T0EXAMPLE/B0ORDERS/hooksecret") -> str:
        """An incoming-webhook URL served by this fake (on the bot's allow-list in tests)."""
        return f"{self.url}/hooks/{name}"

    def webhooks(self) -> list[SlackCall]:
        return [c for c in self.calls if c.kind == "webhook"]

    def elsewhere(self) -> list[SlackCall]:
        return [c for c in self.calls if c.kind == "elsewhere"]

    @property
    def refusals(self) -> list[str]:
        """Every message or view refused for breaking a Block Kit limit, with the problems."""
        with self._lock:
            return list(self._refusals)

    def views(self) -> list[dict[str, Any]]:
        """The views opened (and last updated) by the bot, as Slack holds them, oldest first."""
        with self._lock:
            return [dict(view) for view in self._views.values()]

    def _refuse(self, where: str, error: str, problems: list[str]) -> None:
        """Keep a refusal for the test session's check; the lock is held."""
        self._refusals.append(f"{where}: {error}: " + "; ".join(problems))

    def _record(self, call: SlackCall) -> None:
        with self._lock:
            self._calls.append(call)

    @staticmethod
    async def _payload(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        if request.headers.get("content-type", "").startswith("application/json"):
            loaded = json.loads(raw)
            return loaded if isinstance(loaded, dict) else {"body": loaded}
        return dict(parse_qsl(raw.decode()))

    # --- the Web API ------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        # Some methods (usergroups.users.list) are sent as GET with query parameters.
        payload = {**dict(request.query_params), **await self._payload(request)}
        headers = dict(request.headers)
        if method == "apps.connections.open":  # Socket Mode: the app-level token's one call
            token = headers.get("authorization", "").partition(" ")[2]
            answer = self.socket_mode.open(self.url, token)
            self._record(SlackCall("api", method, payload, headers, answer))
            return JSONResponse(answer)
        if method == "oauth.v2.access":
            with self._lock:
                answer = self.installs.exchange(payload, headers)
            self._record(SlackCall("api", method, payload, headers, answer))
            return JSONResponse(answer)
        auth_error, grant = self._auth_error(headers, payload)
        with self._lock:
            times, retry_after = self._rate_limited.get(method, (0, 0))
            if times > 0 and not auth_error:
                self._rate_limited[method] = (times - 1, retry_after)
        if times > 0 and not auth_error:
            self._record(SlackCall("api", method, payload, headers, {"status": 429}))
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        if auth_error or grant is None:
            answer = {"ok": False, "error": auth_error or "invalid_auth"}
        else:
            answer = self._answer(method, payload, grant)
        self._record(SlackCall("api", method, payload, headers, answer))
        return JSONResponse(answer)

    def _auth_error(
        self, headers: dict[str, str], payload: dict[str, Any]
    ) -> tuple[str, Grant | None]:
        """Slack's answer to the credentials of a Web API call ("" when a bot token of the app
        that has not expired), and what the token reaches."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            token = str(payload.get("token", ""))
        if not token:
            return "not_authed", None
        with self._lock:
            grant = self.installs.grant_of(token)
        if grant is None:
            return "invalid_auth", None
        if grant.expires_at is not None and grant.expires_at < time.time():
            return "token_expired", None
        return "", grant

    def _reaches(self, grant: Grant, team: str) -> bool:
        return grant.covers(team, self.installs.teams)

    def _answer(self, method: str, payload: dict[str, Any], grant: Grant) -> dict[str, Any]:
        with self._lock:
            forced = self._api_errors.get(method)
            if method == "chat.postMessage" and not forced:
                forced = self._closed_channels.get(str(payload.get("channel", "")))
            if forced:
                return {"ok": False, "error": forced}
            if method == "auth.test":
                return self.installs.identity(grant)
            if method == "usergroups.users.list":
                return self._group_members(payload, grant)
            if method in _MESSAGES:
                error, problems = message_problems(_decoded(payload))
                if error:
                    self._refuse(method, error, problems)
                    return _refused(error, problems)
                return self._post(method, payload, grant)
            channel = str(payload.get("channel", ""))
            if channel in self._channels and not self._reaches(grant, self._channels[channel].team):
                return {"ok": False, "error": "channel_not_found"}
            if method == "conversations.info":
                return self._conversation(channel)
            if method == "chat.getPermalink":
                return self._permalink(payload)
            if method in _VIEWS:
                user = str(payload.get("user_id", ""))
                if user and not self._user_reached(grant, user):
                    return {"ok": False, "error": "user_not_found"}
                return self._view(method, payload)
            return {"ok": True}

    def _group_members(self, payload: dict[str, Any], grant: Grant) -> dict[str, Any]:
        """usergroups.users.list; the lock is held."""
        if grant.org_wide and not payload.get("team_id"):
            return {"ok": False, "error": "missing_argument"}  # an org token names a team
        members = self._groups.get(str(payload.get("usergroup", "")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": members}

    def _user_reached(self, grant: Grant, user: str) -> bool:
        """A user said to be of one workspace is reached by that workspace's tokens only."""
        team = self.installs.user_teams.get(user)
        return team is None or self._reaches(grant, team)

    def _conversation(self, channel: str) -> dict[str, Any]:
        """conversations.info: the channel, with whether the bot is a member; the lock is held."""
        found = self._channels.get(channel)
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": channel, "is_member": found.bot_member}}

    def _permalink(self, payload: dict[str, Any]) -> dict[str, Any]:
        """chat.getPermalink of a message the bot posted; the lock is held."""
        channel, ts = str(payload.get("channel", "")), str(payload.get("message_ts", ""))
        if channel not in self._channels:
            return {"ok": False, "error": "channel_not_found"}
        if (channel, ts) not in self._messages:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _post(self, method: str, payload: dict[str, Any], grant: Grant) -> dict[str, Any]:
        """chat.postMessage, chat.update and chat.postEphemeral; the lock is held."""
        channel = str(payload.get("channel", ""))
        if _USER_ID.fullmatch(channel) and method == "chat.postMessage":
            # A user id: Slack posts in the app's direct message with that user.
            user, channel = channel, "D" + channel[1:]
            if not self._user_reached(grant, user):
                return {"ok": False, "error": "channel_not_found"}
            team = self.installs.user_teams.get(user, grant.team_id or DEFAULT_TEAM)
            self._channels.setdefault(channel, _Channel(team, everyone=False, members={user}))
        found = self._channels.get(channel)
        if found is None or not self._reaches(grant, found.team):
            return {"ok": False, "error": "channel_not_found"}
        if method in _POSTING and not found.bot_member:
            return {"ok": False, "error": "not_in_channel"}
        if method == "chat.postEphemeral":
            if not found.has(str(payload.get("user", ""))):
                return {"ok": False, "error": "user_not_in_channel"}
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            ts = str(payload.get("ts", ""))
            if (channel, ts) not in self._messages:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": ts, "text": payload.get("text", "")}
        ts = self._next_ts()
        self._messages.add((channel, ts))
        return {"ok": True, "channel": channel, "ts": ts, "message": payload}

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    def _view(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """views.open, views.update and views.publish; the lock is held."""
        view = _decoded(payload).get("view")
        if method == "views.open":
            refused = self._exchange(str(payload.get("trigger_id", "")))
            if refused:
                return {"ok": False, "error": refused}
        elif method == "views.update":
            current = self._views.get(str(payload.get("view_id", "")))
            if current is None:
                return {"ok": False, "error": "not_found"}
            if payload.get("hash") and payload["hash"] != current["hash"]:
                return {"ok": False, "error": "hash_conflict"}
        problems = view_problems(view)
        if problems:
            self._refuse(method, "invalid_arguments", problems)
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]},
            }
        assert isinstance(view, dict)  # view_problems refuses anything else
        if method == "views.publish":
            return {"ok": True, "view": {**view, "id": "VHOME"}}
        view_id = str(payload.get("view_id") or f"V{len(self._views) + 1:06d}")
        held = {
            **view,
            "id": view_id,
            "hash": f"{self._next_ts()}.hash",
            "state": {"values": {}},
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
        }
        self._views[view_id] = held
        return {"ok": True, "view": held}

    def _exchange(self, trigger_id: str) -> str:
        """Use a trigger id once, within its life; Slack's error when that cannot be."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return "invalid_trigger_id"
        if trigger.used:
            return "exchanged_trigger_id"
        if time.monotonic() + self._clock_offset - trigger.issued_at > TRIGGER_LIFETIME:
            return "expired_trigger_id"
        trigger.used = True
        return ""

    # --- response URLs, webhooks, anything else ---------------------------------------------

    async def _response_url(self, request: Request) -> Response:
        payload = await self._payload(request)
        token = request.path_params["token"]
        with self._lock:
            error, problems = message_problems(payload)
            if error:
                self._refuse("response URL", error, problems)
                status, body = 400, error
            else:
                status, body = self._response_url_answer(token)
            answer = {"status": status, "body": body}
            self._calls.append(SlackCall("response_url", token, payload, answer=answer))
        return PlainTextResponse(body, status_code=status)

    def _response_url_answer(self, token: str) -> tuple[int, str]:
        """(status, body) for one post to a response URL; counts the use; the lock is held."""
        if self._response_url_fault is not None:
            return self._response_url_fault
        issued = self._response_urls.get(token)
        if issued is None:
            # Not one Slack gave out (the fake's own word: Slack documents no answer for it).
            return 404, "invalid_url"
        if time.monotonic() + self._clock_offset - issued.issued_at > RESPONSE_URL_LIFETIME:
            return 404, "expired_url"
        if issued.used >= RESPONSE_URL_USES:
            return 404, "used_url"
        issued.used += 1
        return 200, "ok"

    async def _webhook(self, request: Request) -> Response:
        payload = await self._payload(request)
        path = request.path_params["path"]
        error, problems = message_problems(payload)
        with self._lock:
            status = 302 if path.startswith("redirect/") else self._webhook_status
            if error:
                self._refuse("webhook", error, problems)
                status = 400
        self._record(SlackCall("webhook", path, payload, answer={"status": status}))
        if status == 302:
            return Response(status_code=302, headers={"Location": f"{self.url}/elsewhere/{path}"})
        if path.startswith("slow/"):
            await asyncio.sleep(8)  # longer than the bot's webhook timeout
        if error:
            return PlainTextResponse(error, status_code=400)
        return PlainTextResponse("ok" if status == 200 else "no_service", status_code=status)

    async def _elsewhere(self, request: Request) -> Response:
        payload = await self._payload(request)
        self._record(SlackCall("elsewhere", request.path_params["path"], payload))
        return PlainTextResponse("ok")


def _decoded(payload: dict[str, Any]) -> dict[str, Any]:
    """A Web API call's arguments with `blocks` and `view` as objects: a form-encoded call
    sends them as JSON strings."""
    decoded = dict(payload)
    for key in ("blocks", "view"):
        if isinstance(decoded.get(key), str):
            try:
                decoded[key] = json.loads(decoded[key])
            except ValueError:
                decoded[key] = None
    return decoded


def _refused(error: str, problems: list[str]) -> dict[str, Any]:
    """Slack's answer to a message it refuses."""
    if error == "msg_too_long":
        return {"ok": False, "error": error}
    return {
        "ok": False,
        "error": error,
        "errors": problems,
        "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]},
    }
