"""Slack's Socket Mode, as the fake Slack serves it: `apps.connections.open` hands out the URL of
a websocket on which the fake says hello, delivers envelopes (a slash command, a click) the
test queues, and records the bot's acks."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import queue
import threading
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

APP_TOKEN = "xapp-1-A0CONVOY-socket-test"
PATH = "/socket-mode"


class SocketMode:
    """The websocket side of the fake Slack; thread-safe for the test."""

    def __init__(self) -> None:
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._acks: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.connections = 0

    def open(self, base_url: str, app_token: str) -> dict[str, Any]:
        """`apps.connections.open`: the websocket's URL, for the app-level token only."""
        if app_token != APP_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": base_url.replace("http://", "ws://", 1) + PATH}

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Deliver one envelope (`slash_commands`, `interactive`); its envelope id."""
        envelope_id = f"envelope-{next(self._ids)}"
        self._outbox.put(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind == "slash_commands",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    def ack(self, envelope_id: str) -> dict[str, Any] | None:
        """The bot's ack of that envelope, as sent; None until it comes."""
        with self._lock:
            return self._acks.get(envelope_id)

    async def serve(self, socket: WebSocket) -> None:
        await socket.accept()
        with self._lock:
            self.connections += 1
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0CONVOY"}}
        await socket.send_text(json.dumps(hello))
        delivering = asyncio.create_task(self._deliver(socket))
        try:
            while True:
                ack = json.loads(await socket.receive_text())
                with self._lock:
                    self._acks[str(ack.get("envelope_id", ""))] = ack
        except WebSocketDisconnect:
            pass
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering

    async def _deliver(self, socket: WebSocket) -> None:
        # The test queues from its own thread; polling keeps this free of cross-loop calls.
        while True:
            try:
                envelope = self._outbox.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.01)
                continue
            await socket.send_text(json.dumps(envelope))
