"""The test session's real parts: a Redis server, fake Convoy and Slack on loopback, the bot."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

# Helpers assert too; their failures should say what differed, as the tests' own asserts do.
pytest.register_assert_rewrite("tests.helpers")

from bot import redis_keys
from bot.access.roles import Role, RoleStore
from bot.settings import Settings
from bot.store import redis_client
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import FakeSlack
from tests.harness import (
    ADMIN,
    BOT_TOKEN,
    CONVOY_KEY,
    PROJECT,
    SIGNING_SECRET,
    BotProcess,
    OwnRedisBot,
    bot_env,
    clean_env,
    project_scope,
    run_cli,
    start_bot,
    wait_until_idle,
)
from tests.helpers import APPROVER, OPERATOR, REQUESTER, VIEWER, AuditRecord
from tests.redis_cluster import ON_CLUSTER, TestRedis, start_test_redis
from tests.slack_requests import SlackSender
from tests.watch.helpers import BOUND, OTHER_BOUND, WATCH_INTERVAL

# The chaos run's seed: a new one each session, unless CHAOS_SEED replays an earlier run.
CHAOS_SEED = int(os.environ.get("CHAOS_SEED") or secrets.randbelow(2**32))


def pytest_report_header() -> str:
    return f"chaos seed: {CHAOS_SEED} (replay this run's chaos with CHAOS_SEED={CHAOS_SEED})"


@pytest.fixture(scope="session")
def chaos_seed() -> int:
    """The seed of the chaos run's random choices (see CHAOS_SEED above)."""
    return CHAOS_SEED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not ON_CLUSTER:
        return
    for item in items:
        if item.get_closest_marker("single_node"):
            item.add_marker(pytest.mark.skip(reason="stops, freezes or restarts one Redis server"))
        elif item.get_closest_marker("no_redis"):
            item.add_marker(pytest.mark.skip(reason="touches no Redis: run in the single pass"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestRedis]:
    """The session's Redis: one server, or a cluster with CONVOY_TEST_REDIS=cluster."""
    server = start_test_redis(tmp_path_factory.mktemp("redis"), replicas=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def convoy_fake() -> Iterator[tuple[FakeConvoy, LoopbackServer]]:
    fake = FakeConvoy(project_id=PROJECT, api_key=CONVOY_KEY)
    server = LoopbackServer(fake.app).start()
    yield fake, server
    server.stop()


@pytest.fixture(scope="session")
def scope(convoy_fake: tuple[FakeConvoy, LoopbackServer]) -> str:
    """The scope of the bot's project (its id at the fake Convoy's URL): what Redis keys it by."""
    return project_scope(convoy_fake[1].url)


@pytest.fixture(scope="session")
def slack_fake() -> Iterator[tuple[FakeSlack, LoopbackServer]]:
    fake = FakeSlack(bot_token=BOT_TOKEN)
    server = LoopbackServer(fake.app).start()
    fake.url = server.url
    yield fake, server
    server.stop()


def _session_bot(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: TestRedis,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    name: str,
) -> Iterator[BotProcess]:
    env = bot_env(convoy_fake[1].url, slack_fake[1].url, redis_server.url, free_port())
    # The session's bots log JSON, so every test that reads their log (the secret sweep
    # among them) reads that format; the bots a test starts itself log text.
    env["LOG_FORMAT"] = "json"
    process = start_bot(env, tmp_path_factory.mktemp(name))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def bot(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: TestRedis,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[BotProcess]:
    yield from _session_bot(tmp_path_factory, redis_server, convoy_fake, slack_fake, "bot")


@pytest.fixture(scope="session")
def second_bot(
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: TestRedis,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[BotProcess]:
    """Another replica sharing the same Redis, Convoy and Slack, for exactly-once tests."""
    yield from _session_bot(tmp_path_factory, redis_server, convoy_fake, slack_fake, "bot2")


@pytest.fixture
def bot_factory(
    tmp_path: Path,
    redis_server: TestRedis,
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


@pytest.fixture(autouse=True)
def _convoy_contract(request: pytest.FixtureRequest) -> None:
    """Every test that can reach the fake Convoy, itself or through a bot, gets the `convoy`
    fixture's reset and contract check, whether or not it names that fixture."""
    if "convoy_fake" in request.fixturenames:
        request.getfixturevalue("convoy")


@pytest.fixture
def slack(slack_fake: tuple[FakeSlack, LoopbackServer]) -> Iterator[FakeSlack]:
    """The fake Slack, emptied for this test; it must refuse nothing for Block Kit's limits."""
    fake = slack_fake[0]
    fake.reset()
    yield fake
    assert fake.refusals == [], "the bot sent Slack a message or view beyond Block Kit's limits"


@pytest.fixture(autouse=True)
def _slack_limits(request: pytest.FixtureRequest) -> None:
    """Every test that can reach the fake Slack, itself or through a bot, gets the `slack`
    fixture's reset and its check of Block Kit's limits, whether or not it names that fixture."""
    if "slack_fake" in request.fixturenames:
        request.getfixturevalue("slack")


@pytest.fixture
def store(redis_server: TestRedis) -> Iterator[redis.Redis | redis.RedisCluster]:
    """The session's Redis, emptied for this test."""
    client = redis_server.client()
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def sender(bot: BotProcess, slack_fake: tuple[FakeSlack, LoopbackServer]) -> Iterator[SlackSender]:
    """Sends signed commands and clicks to the session's bot."""
    fake, server = slack_fake
    with SlackSender(
        bot.url, SIGNING_SECRET, server.url, fake.issue_response_url, fake.issue_trigger
    ) as client:
        yield client
    wait_until_idle(bot.url)


@pytest.fixture
def sender_to(
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[Callable[[BotProcess], SlackSender]]:
    """Senders of signed requests to other bot processes; all are closed afterwards."""
    made: list[SlackSender] = []

    def make(process: BotProcess) -> SlackSender:
        fake, server = slack_fake
        made.append(
            SlackSender(
                process.url, SIGNING_SECRET, server.url, fake.issue_response_url, fake.issue_trigger
            )
        )
        return made[-1]

    yield make
    for client in made:
        client.close()
        wait_until_idle(client.bot_url)


@pytest.fixture
def bot_with_own_redis(
    tmp_path: Path,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Iterator[Callable[..., OwnRedisBot]]:
    """Start a bot, with some settings changed, on a Redis of its own that the test may stop,
    freeze or restart; the bot and every Redis are stopped afterwards."""
    started: list[OwnRedisBot] = []

    def start(**overrides: str) -> OwnRedisBot:
        where = tmp_path / f"own{len(started)}"
        server = start_test_redis(where / "redis")
        env = bot_env(convoy_fake[1].url, slack_fake[1].url, server.url, free_port())
        env.update(overrides)
        started.append(OwnRedisBot(start_bot(env, where / "bot"), server, where / "redis"))
        return started[-1]

    yield start
    for own in started:
        own.bot.stop()
        for handle in (own.redis, *own.restarted):
            handle.stop()  # a server the test stopped already is left as it is


@pytest.fixture
def grant(store: redis.Redis, redis_server: TestRedis) -> Callable[..., None]:
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
def audit_entries(redis_server: TestRedis, tmp_path: Path) -> Callable[..., list[AuditRecord]]:
    """The audit trail, newest first, as `convoy-bot audit --json` prints it for a SIEM."""

    def read(endpoint: str = "", limit: int = 100) -> list[AuditRecord]:
        args = ["audit", "--json", "--limit", str(limit)]
        if endpoint:
            args += ["--endpoint", endpoint]
        result = run_cli({**clean_env(), "REDIS_URL": redis_server.url}, tmp_path, *args)
        assert result.returncode == 0, result.stderr
        return [AuditRecord(**entry) for entry in json.loads(result.stdout)]

    return read


@pytest.fixture
def move_clock(redis_server: TestRedis) -> Iterator[Callable[[timedelta], None]]:
    """Move the shared clock of bots started with CONVOY_BOT_MOVABLE_CLOCK=true (each reads it
    at start-up and at every scheduler tick); it is put back afterwards."""
    client = redis_server.client()

    def move(by: timedelta) -> None:
        client.set(redis_keys.clock_offset(), by.total_seconds())

    yield move
    client.delete(redis_keys.clock_offset())
    client.close()


@pytest.fixture
def operator(grant: Callable[..., None]) -> str:
    """The test operator, granted the operator role everywhere."""
    grant(OPERATOR, Role.OPERATOR)
    return OPERATOR


@pytest.fixture
def team(grant: Callable[..., None]) -> None:
    """A requester, an approver, an operator and a viewer, each with that role everywhere."""
    grant(REQUESTER, Role.REQUESTER)
    grant(APPROVER, Role.APPROVER)
    grant(OPERATOR, Role.OPERATOR)
    grant(VIEWER, Role.VIEWER)


@pytest.fixture
def replica_settings(
    redis_server: TestRedis,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
) -> Settings:
    """Settings of scheduler replicas built in a test's own process (as `serve` builds
    them) on the session's Redis and fakes, with a clock the test moves."""
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"{slack_fake[1].url}/api/",
        convoy_api_url=f"{convoy_fake[1].url}/api",
        convoy_api_key=CONVOY_KEY,
        convoy_project_id=PROJECT,
        redis_url=redis_server.url,
        convoy_bot_admins=[ADMIN],
        slack_webhook_url_prefixes=[f"{slack_fake[1].url}/hooks/"],
        convoy_bot_movable_clock=True,
    )


@pytest.fixture
def watch_settings(replica_settings: Settings) -> Settings:
    """The replicas' settings, polling every minute."""
    return replica_settings.model_copy(update={"convoy_bot_watch_interval": WATCH_INTERVAL})


@pytest.fixture
def bound(store: redis.Redis, scope: str, slack: FakeSlack) -> None:
    """The bot's project bound to two channels, the bot a member of both."""
    slack.add_channel(BOUND)
    slack.add_channel(OTHER_BOUND)
    store.hset(redis_keys.bindings(), mapping={BOUND: scope, OTHER_BOUND: scope})


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Holds what the test says (Convoy requests, by a fault's `meanwhile=gate.wait`) until
    the test opens it; always opened at the end, even on failure, so nothing hangs."""
    opened = threading.Event()
    yield opened
    opened.set()
