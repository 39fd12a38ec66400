"""The real parts every test session and the benchmark start: Redis, the bot as a process.

Shared by tests/conftest.py (the fixtures) and bench/ (which must not import a conftest).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx
import redis

from bot.__main__ import main as cli_main
from bot.embedded_redis import EmbeddedRedis
from bot.project import Project
from tests.fakes.loopback import free_port

if TYPE_CHECKING:
    from tests.redis_cluster import TestRedis

PROJECT = "01HPROJECTCONVOYTEST000000"


def project_scope(convoy_url: str, project_id: str = PROJECT) -> str:
    """How the bot keys a project in Redis: its id at its API (bot.projects.store.Project.scope)."""
    return Project(alias="any", api_url=f"{convoy_url}/api", project_id=project_id).scope


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


WORK_GAUGE = "convoy_bot_work_in_progress "


def wait_until_idle(url: str, timeout: float = 10.0) -> bool:
    """Wait until the bot at `url` has no acknowledged work still running, so that nothing a
    test set off (a requester's notice sent last, say) reaches the next test's fakes. A
    barrier, not a check: work a test left hanging on purpose is given up on after `timeout`
    (False), and a bot that stopped counts as idle."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            page = httpx.get(f"{url}/metrics", timeout=5).text
        except httpx.HTTPError:
            return True
        running = [line for line in page.splitlines() if line.startswith(WORK_GAUGE)]
        assert running, "the bot's /metrics does not say how much work it has in progress"
        if float(running[0].removeprefix(WORK_GAUGE)) == 0:
            return True
        time.sleep(0.02)
    return False


@dataclass
class RedisServer:
    """A real redis-server child process on a loopback port."""

    process: subprocess.Popen[bytes]
    url: str
    port: int

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_redis(data_dir: Path, port: int | None = None) -> RedisServer:
    """A redis-server without persistence, on `port` (a free one when None)."""
    port = port or free_port()
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


def clean_env() -> dict[str, str]:
    """This process's environment without any of the bot's settings."""
    prefixes = ("SLACK_", "CONVOY_", "REDIS_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot <args>` run to the end, as a user runs `convoy-bot` in a shell."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_cli_here(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI's `main` run in this process, with `env` as the whole environment and `cwd`
    as the working directory (no developer's .env), its output captured: what `run_cli`
    does without starting Python again (a second or more on a busy machine), for the
    fixtures that set projects and roles up. The tests of the CLI itself use `run_cli`."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_main(list(args))
            except SystemExit as exit_:  # argparse refusing the arguments
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(
        ["convoy-bot", *args], code, stdout=out.getvalue(), stderr=err.getvalue()
    )


def bot_env(convoy_url: str, slack_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = clean_env()
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{slack_url}/api/",
            "CONVOY_API_URL": f"{convoy_url}/api",
            "CONVOY_API_KEY": CONVOY_KEY,
            "CONVOY_PROJECT_ID": PROJECT,
            "CONVOY_TIMEOUT_SECONDS": "1.5",
            # A write whose answer was lost is read again this soon (production: 20 s), by a
            # scheduler that ticks often enough to notice.
            "CONVOY_BOT_SETTLE_SECONDS": "1",
            "CONVOY_BOT_SCHEDULER_INTERVAL_SECONDS": "0.2",
            # The watch polls on the real clock: the watch tests drive it through scheduler
            # replicas with a clock they move (tests/watch/), so these bots leave it be.
            "CONVOY_BOT_WATCH_ENABLED": "false",
            # Slack's pace (a post a second per channel after a burst) would only slow the
            # tests: the bots of tests/workspaces/ keep it, as production does.
            "CONVOY_BOT_SLACK_RATE_LIMITS": "false",
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


@dataclass
class OwnRedisBot:
    """A bot process with a Redis of its own, which the test may stop and start again."""

    bot: BotProcess
    redis: TestRedis
    redis_dir: Path
    restarted: list[RedisServer] = field(default_factory=list)

    def restart_redis(self) -> RedisServer:
        """A new redis-server on the port the bot was configured with (its data is gone)."""
        assert isinstance(self.redis, RedisServer), "a test that restarts Redis is single_node"
        self.restarted.append(start_redis(self.redis_dir, port=self.redis.port))
        return self.restarted[-1]
