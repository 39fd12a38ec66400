"""Serving an ASGI app over real HTTP on 127.0.0.1, in a background thread of the test process."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
