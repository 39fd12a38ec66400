"""The test session's real parts: a Redis server, fake Convoy and Slack on loopback, the bot."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
import redis

from bot.audit import AuditEntry, AuditLog
from bot.embedded_redis import EmbeddedRedis
from bot.roles import Role, RoleStore
from bot.services import redis_client
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import FakeSlack, SlackCall
from tests.slack_requests import SlackSender

PROJECT = "01HPROJECTCONVOYTEST000000"
CONVOY_KEY = "convoy-api-key-for-tests"
SIGNING_SECRET = "signing-secret-for-tests"
BOT_TOKEN = "xoxb-bot-token-for-tests"
ADMIN = "U0ADMIN"
T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 10.0, what: str = "it") -> T:
    """Poll until probe returns something truthy; the deadline only bounds a hang."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class RedisServer:
    """A real redis-server child process on a loopback port."""

    process: subprocess.Popen[bytes]
    url: str
    port: int

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_redis(data_dir: Path) -> RedisServer:
    port = free_port()
    server = EmbeddedRedis(data_dir, port=port, persist=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(server.command(), stdout=subprocess.DEVNULL)
    handle = RedisServer(process, server.url, port)
    client = handle.client()

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    eventually(answers, what="redis-server to answer")
    client.close()
    return handle


@dataclass
class BotProcess:
    """`python -m bot serve` as a child process, with its log captured to a file."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=20)


def bot_env(convoy_url: str, slack_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONVOY_"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{slack_url}/api/",
            "CONVOY_API_URL": f"{convoy_url}/api",
            "CONVOY_API_KEY": CONVOY_KEY,
            "CONVOY_PROJECT_ID": PROJECT,
            "CONVOY_TIMEOUT_SECONDS": "1.5",
            "REDIS_URL": redis_url,
            "CONVOY_BOT_ADMINS": ADMIN,
            "SLACK_WEBHOOK_URL_PREFIXES": f"{slack_url}/hooks/",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "INFO",
        }
    )
    return env


def start_bot(
    env: dict[str, str],
    workdir: Path,
    command: tuple[str, ...] = ("bot", "serve"),
    name: str = "bot",
) -> BotProcess:
    """`python -m <command>` (the bot, or the benchmark's baseline app) serving /healthz."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", *command],
            env=env,
            cwd=workdir,  # no developer's .env is read
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{env['PORT']}"
    bot = BotProcess(process, url, log_path)

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited at start-up:\n{bot.log()}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    eventually(healthy, timeout=30, what=f"the {name} to serve /healthz")
    return bot


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def convoy_fake() -> Iterator[tuple[FakeConvoy, LoopbackServer]]:
    fake = FakeConvoy(project_id=PROJECT, api_key=CONVOY_KEY)
    server = LoopbackServer(fake.app).start()
    yield fake, server
    server.stop()


@pytest.fixture(scope="session")
def slack_fake() -> Iterator[tuple[FakeSlack, LoopbackServer]]:
    fake = FakeSlack()
    server = LoopbackServer(fake.app).start()
    fake.url = server.url
    yield fake, server
    server.stop()


def _session_bot(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    name: str,
) -> Iterator[BotProcess]:
    env = bot_env(convoy_fake[1].url, slack_fake[1].url, redis_server.url, free_port())
    process = start_bot(env, tmp_path_factory.mktemp(name))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def bot(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[BotProcess]:
    yield from _session_bot(tmp_path_factory, redis_server, convoy_fake, slack_fake, "bot")


@pytest.fixture(scope="session")
def second_bot(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[BotProcess]:
    """Another replica sharing the same Redis, Convoy and Slack, for exactly-once tests."""
    yield from _session_bot(tmp_path_factory, redis_server, convoy_fake, slack_fake, "bot2")


@pytest.fixture
def bot_factory(
    tmp_path: Path,
    redis_server: RedisServer,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[Callable[..., BotProcess]]:
    """Start extra bot processes with some settings changed; all are stopped afterwards."""
    started: list[BotProcess] = []

    def start(**overrides: str) -> BotProcess:
        env = bot_env(convoy_fake[1].url, slack_fake[1].url, redis_server.url, free_port())
        env.update(overrides)
        process = start_bot(env, tmp_path / f"bot{len(started)}")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def convoy(convoy_fake: tuple[FakeConvoy, LoopbackServer]) -> Iterator[FakeConvoy]:
    """The fake Convoy, emptied for this test; its contract must hold throughout."""
    fake = convoy_fake[0]
    fake.reset()
    yield fake
    assert fake.contract_errors == [], "a request or response broke Convoy's OpenAPI spec"


@pytest.fixture
def slack(slack_fake: tuple[FakeSlack, LoopbackServer]) -> FakeSlack:
    slack_fake[0].reset()
    return slack_fake[0]


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """The session's Redis, emptied for this test."""
    client = redis_server.client()
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def sender(bot: BotProcess, slack_fake: tuple[FakeSlack, LoopbackServer]) -> Iterator[SlackSender]:
    client = SlackSender(bot.url, SIGNING_SECRET, slack_fake[1].url)
    yield client
    client.http.close()


@pytest.fixture
def grant(store: redis.Redis, redis_server: RedisServer) -> Callable[..., None]:
    """Give a user a role through the bot's own RoleStore."""

    def give(user_id: str, role: Role, project: str = "*") -> None:
        async def run() -> None:
            client = redis_client(redis_server.url)
            try:
                await RoleStore(client, []).grant(user_id, role, project)
            finally:
                await client.aclose()

        asyncio.run(run())

    return give


@pytest.fixture
def audit_entries(store: redis.Redis, redis_server: RedisServer) -> Callable[..., list[AuditEntry]]:
    """Read the audit trail (newest first) through the bot's own AuditLog."""

    def read(endpoint: str = "", limit: int = 100) -> list[AuditEntry]:
        async def run() -> list[AuditEntry]:
            client = redis_client(redis_server.url)
            try:
                return await AuditLog(client).latest(limit, endpoint)
            finally:
                await client.aclose()

        return asyncio.run(run())

    return read


def reply_to(slack: FakeSlack, token: str, count: int = 1) -> list[str]:
    """Wait for `count` private replies to one command or click; return their texts."""

    def enough() -> list[SlackCall] | None:
        found = slack.replies(token)
        return found if len(found) >= count else None

    calls = eventually(enough, what=f"{count} reply(ies) on the response URL")
    return [call.text for call in calls]
