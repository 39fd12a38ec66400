"""A fake of the Slack Web API, response URLs and incoming webhooks, recording what it gets."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class SlackCall:
    """One request the bot made: a Web API method, a response-URL post or a webhook post."""

    kind: str  # "api", "response_url", "webhook" or "elsewhere"
    name: str  # API method, response-URL token or webhook path
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    answer: dict[str, Any] = field(default_factory=dict)  # what the fake replied (Web API)

    @property
    def text(self) -> str:
        """The message text plus every text inside its blocks, for assertions."""
        return str(self.payload.get("text", "")) + "\n" + json.dumps(self.payload.get("blocks", []))


class FakeSlack:
    """Records every call; `fail_method` makes a Web API method answer `ok: false`."""

    BOT_USER = "UBOTCONVOY"

    def __init__(self) -> None:
        self.url = ""  # set once the server is listening
        self._lock = threading.Lock()
        self._calls: list[SlackCall] = []
        self._api_errors: dict[str, str] = {}
        self._webhook_status = 200
        self._groups: dict[str, list[str]] = {}
        self._rate_limited: dict[str, tuple[int, int]] = {}  # method -> (times left, seconds)
        self._closed_channels: dict[str, str] = {}  # channel -> error for posts there
        self._ts = 1_700_000_000
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["POST", "GET"]),
                Route("/response/{token}", self._response_url, methods=["POST"]),
                Route("/hooks/{path:path}", self._webhook, methods=["POST"]),
                Route("/{path:path}", self._elsewhere, methods=["GET", "POST"]),
            ]
        )

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._api_errors.clear()
            self._webhook_status = 200
            self._groups.clear()
            self._rate_limited.clear()
            self._closed_channels.clear()

    def fail_channel(self, channel: str, error: str) -> None:
        """chat.postMessage to this channel (only) answers `ok: false` with error."""
        with self._lock:
            self._closed_channels[channel] = error

    def rate_limit(self, method: str, times: int, retry_after: int) -> None:
        """Answer the next `times` calls of method with 429 and Retry-After, posting nothing."""
        with self._lock:
            self._rate_limited[method] = (times, retry_after)

    def set_group(self, group_id: str, members: list[str]) -> None:
        """What usergroups.users.list answers for one user group."""
        with self._lock:
            self._groups[group_id] = list(members)

    def fail_method(self, method: str, error: str) -> None:
        with self._lock:
            self._api_errors[method] = error

    def set_webhook_status(self, status: int) -> None:
        with self._lock:
            self._webhook_status = status

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def api_calls(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.kind == "api" and c.name == method]

    def replies(self, token: str) -> list[SlackCall]:
        """Posts to the response URL of one command or click."""
        return [c for c in self.calls if c.kind == "response_url" and c.name == token]

    def hook(self, name: str = "T0EXAMPLE/B0ORDERS/hooksecret") -> str:
        """An incoming-webhook URL served by this fake (on the bot's allow-list in tests)."""
        return f"{self.url}/hooks/{name}"

    def webhooks(self) -> list[SlackCall]:
        return [c for c in self.calls if c.kind == "webhook"]

    def elsewhere(self) -> list[SlackCall]:
        return [c for c in self.calls if c.kind == "elsewhere"]

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

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        # Some methods (usergroups.users.list) are sent as GET with query parameters.
        payload = {**dict(request.query_params), **await self._payload(request)}
        with self._lock:
            error = self._api_errors.get(method)
            if method == "chat.postMessage" and not error:
                error = self._closed_channels.get(str(payload.get("channel", "")))
            self._ts += 1
            ts = f"{self._ts}.000100"
            times, retry_after = self._rate_limited.get(method, (0, 0))
            if times > 0:
                self._rate_limited[method] = (times - 1, retry_after)
        if times > 0:
            self._record(SlackCall("api", method, payload, dict(request.headers), {"status": 429}))
            return JSONResponse(
                {"ok": False, "error": "ratelimited"},
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
        answer = self._answer(method, payload, ts, error)
        self._record(SlackCall("api", method, payload, dict(request.headers), answer))
        return JSONResponse(answer)

    def _answer(
        self, method: str, payload: dict[str, Any], ts: str, error: str | None
    ) -> dict[str, Any]:
        if error:
            return {"ok": False, "error": error}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "convoy",
                "team_id": "T0EXAMPLE",
                "user_id": self.BOT_USER,
                "bot_id": "B0CONVOY",
                "is_enterprise_install": False,
            }
        if method == "usergroups.users.list":
            with self._lock:
                members = self._groups.get(str(payload.get("usergroup", "")))
            if members is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": members}
        if method in ("chat.postMessage", "chat.update"):
            channel = payload.get("channel", "")
            return {"ok": True, "channel": channel, "ts": payload.get("ts", ts), "message": payload}
        return {"ok": True}

    async def _response_url(self, request: Request) -> Response:
        payload = await self._payload(request)
        self._record(SlackCall("response_url", request.path_params["token"], payload))
        return PlainTextResponse("ok")

    async def _webhook(self, request: Request) -> Response:
        payload = await self._payload(request)
        path = request.path_params["path"]
        self._record(SlackCall("webhook", path, payload))
        if path.startswith("redirect/"):
            return Response(status_code=302, headers={"Location": f"{self.url}/elsewhere/{path}"})
        if path.startswith("slow/"):
            await asyncio.sleep(8)  # longer than the bot's webhook timeout
        with self._lock:
            status = self._webhook_status
        return PlainTextResponse("ok" if status == 200 else "no_service", status_code=status)

    async def _elsewhere(self, request: Request) -> Response:
        payload = await self._payload(request)
        self._record(SlackCall("elsewhere", request.path_params["path"], payload))
        return PlainTextResponse("ok")
