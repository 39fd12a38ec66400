"""Serving an ASGI app over real HTTP on 127.0.0.1, in a background thread of the test process."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now.

    Under pytest-xdist each worker takes its ports from a band of its own, below the
    kernel's ephemeral range: a port the kernel hands out for binding port 0 (or for an
    outgoing connection) may be handed to another worker a moment later, before the server
    it was picked for has bound it. Outside xdist the kernel picks, as before."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return _bindable(0)
    start = PORT_BANDS_FROM + int(worker[2:]) * PORT_BAND_WIDTH
    for _ in range(PORT_BAND_WIDTH):
        port = start + next(_band_offsets) % PORT_BAND_WIDTH
        try:
            return _bindable(port)
        except OSError:
            continue  # still held (a server of an earlier test, or TIME_WAIT): the next one
    raise OSError(f"no free port in {start}..{start + PORT_BAND_WIDTH - 1}")


PORT_BANDS_FROM = 10000
PORT_BAND_WIDTH = 2500  # 8 workers fit below 32768, where Linux's ephemeral ports begin
# A random start: two test sessions at once on one machine rarely pick the same ports.
_band_offsets = itertools.count(random.randrange(PORT_BAND_WIDTH))  # not a secret


def _bindable(port: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        found: int = sock.getsockname()[1]
        return found


class LoopbackServer:
    """One uvicorn server in its own thread and event loop; `url` is its base address."""

    def __init__(self, app: ASGIApp) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"loopback-{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._server.serve())
        finally:
            self._loop.close()

    def start(self) -> LoopbackServer:
        self._thread.start()
        deadline = 10.0
        step = 0.01
        waited = 0.0
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"loopback server on port {self.port} failed to start")
            threading.Event().wait(step)
            waited += step
            if waited > deadline:
                raise RuntimeError(f"loopback server on port {self.port} did not start")
        return self

    def call_soon(self, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a coroutine on the server's own loop (for fakes that need to act later)."""
        asyncio.run_coroutine_threadsafe(factory(), self._loop)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
