"""The benchmark's fakes in their own process, timing every receipt: the tests' fake Convoy
(its OpenAPI contract check off) and a lean fake Slack.

The contract check costs about 1.6 ms of CPU per request (2.1 ms against 0.5 ms without it,
measured on the benchmark machine): at 200 pauses/s that is most of a core, so the benchmark
runs `tests.fakes.convoy.FakeConvoy(check_contract=False)`: the same behaviour (the read, the
pause toggle, activate, the 400s and 404s, cursor paging) without the check. Every receipt is
recorded with `time.monotonic()`, which on Linux reads CLOCK_MONOTONIC, one clock for every
process on the machine, so the load generator's send times compare with it.

Run as `python -m bench.fakes --convoy-port P --slack-port Q --project ID --api-key KEY`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.fakes.convoy import FakeConvoy

Record = tuple[str, str, float, str]  # (kind, key, monotonic time, note)
TIMED_OPERATIONS = ("get", "list", "pause", "activate")


@dataclass
class Ledger:
    """Shared state of both fakes: Convoy's endpoints and requests, and Slack's receipts."""

    convoy: FakeConvoy
    slack_url: str
    uids: list[str] = field(default_factory=list)
    slack: list[Record] = field(default_factory=list)

    def reset(self, count: int, delay: float) -> list[str]:
        """Forget everything; make `count` fresh active endpoints; return their uids."""
        self.convoy.reset()
        self.slack.clear()
        self.uids = []
        for _ in range(count):
            uid = self.convoy.new_uid()
            self.convoy.add_endpoint(
                f"bench-{uid[-8:].lower()}",
                uid=uid,
                slack_webhook_url=f"{self.slack_url}/hooks/T0BENCH/{uid}/hooksecret",
                failure_rate=0.0,
            )
            self.uids.append(uid)
        if delay:
            for operation in TIMED_OPERATIONS:
                # Received, then answered `delay` later: a slow Convoy, every call alike.
                self.convoy.set_fault(operation, delay=delay, apply_before_delay=False)
        return self.uids

    def counts(self) -> dict[str, int]:
        """How many receipts of each kind so far (cheap enough to poll)."""
        found: dict[str, int] = {"convoy": len(self.convoy.requests)}
        for kind, _, _, _ in self.slack:
            found[kind] = found.get(kind, 0) + 1
        return found

    def snapshot(self) -> dict[str, Any]:
        convoy = [
            (r.operation, r.endpoint_uid or "", r.received_at, "") for r in self.convoy.requests
        ]
        return {
            "convoy": convoy,
            "slack": self.slack,
            "statuses": {uid: self.convoy.endpoint(uid)["status"] for uid in self.uids},
        }


class BenchConvoy:
    """The fake Convoy under /api, plus the benchmark's /_bench control routes."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if not path.startswith("/_bench/"):
            await self.ledger.convoy.app(scope, receive, send)
            return
        response = await self._control(Request(scope, receive), path.removeprefix("/_bench/"))
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
        for app, port in ((BenchConvoy(ledger), convoy_port), (LeanSlack(ledger), slack_port))
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
    convoy = FakeConvoy(project_id=args.project, api_key=args.api_key, check_contract=False)
    ledger = Ledger(convoy, f"http://127.0.0.1:{args.slack_port}")
    asyncio.run(serve(ledger, args.convoy_port, args.slack_port))


if __name__ == "__main__":
    main()
