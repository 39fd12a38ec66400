"""Lean fakes of Convoy and Slack for the benchmark, in their own process, timing every receipt.

tests/fakes/convoy.py checks every request and response against Convoy's OpenAPI spec, which
costs about 1.6 ms of CPU per request (2.1 ms against 0.5 ms without the check, measured on
the benchmark machine): at 200 pauses/s that is most of a core. These fakes keep Convoy's
behaviour that a pause by uid touches (the read, the pause toggle, activate, the 400s and 404s,
cursor paging) and Slack's Web API, response URLs and webhooks, without the contract check.
Every receipt is recorded with `time.monotonic()`, which on Linux reads CLOCK_MONOTONIC, one
clock for every process on the machine, so the load generator's send times compare with it.

Run as `python -m bench.fakes --convoy-port P --slack-port Q --project ID --api-key KEY`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DEFAULT_PER_PAGE = 20

Record = tuple[str, str, float, str]  # (kind, key, monotonic time, note)


@dataclass
class Ledger:
    """Shared state of both fakes: endpoints, receipts, and Convoy's configured slowness."""

    project_id: str
    api_key: str
    slack_url: str
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    convoy: list[Record] = field(default_factory=list)
    slack: list[Record] = field(default_factory=list)
    convoy_delay: float = 0.0
    last_ms: int = 0

    def reset(self, count: int, delay: float) -> list[str]:
        """Forget everything; make `count` fresh active endpoints; return their uids."""
        self.endpoints.clear()
        self.convoy.clear()
        self.slack.clear()
        self.convoy_delay = delay
        uids = [self._new_uid() for _ in range(count)]
        for uid in uids:
            self.endpoints[uid] = endpoint_record(uid, self.project_id, self.slack_url)
        return uids

    def _new_uid(self) -> str:
        ms = max(time.time_ns() // 1_000_000, self.last_ms + 1)
        self.last_ms = ms
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def counts(self) -> dict[str, int]:
        """How many receipts of each kind so far (cheap enough to poll)."""
        found: dict[str, int] = {"convoy": len(self.convoy)}
        for kind, _, _, _ in self.slack:
            found[kind] = found.get(kind, 0) + 1
        return found

    def snapshot(self) -> dict[str, Any]:
        return {
            "convoy": self.convoy,
            "slack": self.slack,
            "statuses": {uid: e["status"] for uid, e in self.endpoints.items()},
        }


def endpoint_record(uid: str, project_id: str, slack_url: str) -> dict[str, Any]:
    """An endpoint shaped (and sized) like Convoy's, secrets included, with a Slack webhook."""
    now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {
        "uid": uid,
        "project_id": project_id,
        "owner_id": "",
        "name": f"bench-{uid[-8:].lower()}",
        "description": "benchmark receiver",
        "status": "active",
        "url": "https://receiver.example.com/hooks/convoy",
        "slack_webhook_url": f"{slack_url}/hooks/T0BENCH/{uid}/hooksecret",
        "teams_webhook_url": "",
        "support_email": "",
        "content_type": "application/json",
        "advanced_signatures": False,
        "http_timeout": 30,
        "rate_limit": 5000,
        "rate_limit_duration": 60,
        "events": 0,
        "failure_rate": 0.0,
        "cb_state": "closed",
        "period_failure_rate": None,
        "success_count": None,
        "failure_count": None,
        "retry_count": None,
        "secrets": [
            {
                "uid": f"{uid}-secret",
                "value": "bench-signing-secret-value",
                "created_at": now,
                "updated_at": now,
                "expires_at": None,
                "deleted_at": None,
            }
        ],
        "authentication": {
            "type": "api_key",
            "api_key": {"header_name": "X-Receiver-Key", "header_value": "bench-api-key"},
            "basic_auth": {"username": "convoy", "password": "bench-password"},
            "oauth2": {
                "url": "https://auth.example.com/oauth/token",
                "client_id": "convoy-client",
                "client_secret": "bench-client-secret",
                "authentication_type": "shared_secret",
                "grant_type": "client_credentials",
                "scope": "webhooks",
                "audience": "",
                "issuer": "",
                "subject": "",
                "signing_algorithm": "",
                "expiry_time_unit": "seconds",
                "field_mapping": {
                    "access_token": "access_token",
                    "token_type": "token_type",
                    "expires_in": "expires_in",
                },
            },
        },
        "mtls_client_cert": {"client_cert": "", "client_key": ""},
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }


def _envelope(status: int, message: str, data: Any = None) -> Response:
    body: dict[str, Any] = {"status": 200 <= status < 300, "message": message}
    if data is not None:
        body["data"] = data
    return Response(json.dumps(body), status_code=status, media_type="application/json")


class LeanConvoy:
    """Convoy's endpoint API for one project under /api, plus the benchmark's /_bench control."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        path = request.url.path
        if path.startswith("/_bench/"):
            response = await self._control(request, path.removeprefix("/_bench/"))
        else:
            response = await self._api(request, path)
        await response(scope, receive, send)

    async def _control(self, request: Request, action: str) -> Response:
        if action == "reset":
            wanted = await request.json()
            uids = self.ledger.reset(int(wanted["endpoints"]), float(wanted["delay"]))
            return JSONResponse({"uids": uids})
        if action == "counts":
            return JSONResponse(self.ledger.counts())
        if action == "snapshot":
            return JSONResponse(self.ledger.snapshot())
        return PlainTextResponse("ok")

    async def _api(self, request: Request, path: str) -> Response:
        received = time.monotonic()
        parts = path.strip("/").split("/")
        # api / v1 / projects / {project} / endpoints [/ {uid} [/ pause | activate]]
        if len(parts) < 5 or parts[:3] != ["api", "v1", "projects"] or parts[4] != "endpoints":
            return _envelope(404, "Resource not found")
        if request.headers.get("authorization") != f"Bearer {self.ledger.api_key}":
            return _envelope(401, "authorization failed")
        if parts[3] != self.ledger.project_id:
            return _envelope(404, "Resource not found")
        method, tail = request.method, parts[5:]
        if method == "GET" and not tail:
            operation, uid = "list", ""
        elif method == "GET" and len(tail) == 1:
            operation, uid = "get", tail[0]
        elif method == "PUT" and len(tail) == 2 and tail[1] == "pause":
            operation, uid = "pause", tail[0]
        elif method == "POST" and len(tail) == 2 and tail[1] == "activate":
            operation, uid = "activate", tail[0]
        else:
            return _envelope(404, "Resource not found")
        self.ledger.convoy.append((operation, uid, received, ""))
        if self.ledger.convoy_delay:
            await asyncio.sleep(self.ledger.convoy_delay)
        if operation == "list":
            return self._list(dict(parse_qsl(request.url.query)))
        return self._change(operation, uid)

    def _change(self, operation: str, uid: str) -> Response:
        endpoint = self.ledger.endpoints.get(uid)
        if operation == "get":
            if endpoint is None:
                return _envelope(404, "Resource not found")
            return _envelope(200, "Endpoint fetched successfully", endpoint)
        if endpoint is None:
            return _envelope(400, "failed to find endpoint")
        current = endpoint["status"]
        if operation == "pause":
            if current not in ("active", "paused"):
                return _envelope(
                    400, f"current endpoint status - {current}, does not support pausing"
                )
            endpoint["status"] = "paused" if current == "active" else "active"  # the toggle
            return _envelope(202, "endpoint status updated successfully", endpoint)
        if current not in ("paused", "inactive"):
            return _envelope(
                400, f"current endpoint status - {current}, does not support activation"
            )
        endpoint["status"] = "active"
        return _envelope(202, "endpoint status successfully activated", endpoint)

    def _list(self, query: dict[str, str]) -> Response:
        try:
            per_page = max(1, int(query.get("perPage", DEFAULT_PER_PAGE)))
        except ValueError:
            per_page = DEFAULT_PER_PAGE
        search = query.get("q", "").casefold()
        cursor = query.get("next_page_cursor", "")
        matching = sorted(
            (
                e
                for uid, e in self.ledger.endpoints.items()
                if search in e["name"].casefold() and (not cursor or uid <= cursor)
            ),
            key=lambda e: str(e["uid"]),
            reverse=True,
        )
        page, following = matching[:per_page], matching[per_page : per_page + 1]
        pagination = {
            "per_page": per_page,
            "has_next_page": bool(following),
            "has_prev_page": bool(cursor),
            "prev_page_cursor": page[0]["uid"] if page else "",
            "next_page_cursor": following[0]["uid"] if following else "",
        }
        data = {"content": page, "pagination": pagination}
        return _envelope(200, "Endpoints fetched successfully", data)


class LeanSlack:
    """Slack's Web API (auth.test, chat.postMessage, the rest answered ok), response URLs, hooks."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._ts = 1_700_000_000

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        raw = await request.body()
        received = time.monotonic()
        kind, _, rest = request.url.path.strip("/").partition("/")
        response: Response = PlainTextResponse("ok")
        if kind == "api":
            response = self._api(rest, request.headers.get("content-type", ""), raw, received)
        elif kind == "response":
            text = str(_payload(request.headers.get("content-type", ""), raw).get("text", ""))
            self.ledger.slack.append(("response", rest, received, text[:120]))
        elif kind == "hooks":
            self.ledger.slack.append(("webhook", rest, received, ""))
        else:
            self.ledger.slack.append(("elsewhere", rest, received, ""))
        await response(scope, receive, send)

    def _api(self, method: str, content_type: str, raw: bytes, received: float) -> Response:
        if method == "auth.test":
            return JSONResponse(
                {
                    "ok": True,
                    "url": "https://example.slack.com/",
                    "team": "Example",
                    "user": "convoy",
                    "team_id": "T0EXAMPLE",
                    "user_id": "UBOTCONVOY",
                    "bot_id": "B0CONVOY",
                    "is_enterprise_install": False,
                }
            )
        if method == "chat.postMessage":
            channel = str(_payload(content_type, raw).get("channel", ""))
            self.ledger.slack.append(("post", channel, received, ""))
            self._ts += 1
            return JSONResponse({"ok": True, "channel": channel, "ts": f"{self._ts}.000100"})
        self.ledger.slack.append(("api", method, received, ""))
        return JSONResponse({"ok": True})


def _payload(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        loaded = json.loads(raw)
        return loaded if isinstance(loaded, dict) else {}
    return dict(parse_qsl(raw.decode()))


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: two servers share one process and one stop."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(ledger: Ledger, convoy_port: int, slack_port: int) -> None:
    servers = [
        _QuietServer(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
        )
        for app, port in ((LeanConvoy(ledger), convoy_port), (LeanSlack(ledger), slack_port))
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(server.serve() for server in servers))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--convoy-port", type=int, required=True)
    parser.add_argument("--slack-port", type=int, required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args(argv)
    ledger = Ledger(args.project, args.api_key, f"http://127.0.0.1:{args.slack_port}")
    asyncio.run(serve(ledger, args.convoy_port, args.slack_port))


if __name__ == "__main__":
    main()
