"""`python -m bench.authorize [--requests N]`: what authorizing one request costs a bot
installed in many workspaces, with Bolt's default authorize and with the bot's own.

Bolt's `AsyncInstallationStoreAuthorize` reads the installation and then asks Slack
(`auth.test`) on every request unless its cache is on; the bot's `StoredAuthorize` reads the
installation at most once per 30 s per process and never asks Slack. Each is called N times
for a request of one installed workspace, over the bot's Redis installation store and the
fake Slack on loopback; the table counts Slack calls and Redis reads per request and the
time per request (p50 / p99).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import SecretStr
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from bot.keybox import KeyBox, new_secret_key
from bot.metrics import Metrics
from bot.store import redis_client
from bot.workspaces.installations import RedisInstallationStore
from bot.workspaces.tokens import WorkspaceTokens
from handlers.installs import StoredAuthorize
from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_installs import CLIENT_ID, CLIENT_SECRET
from tests.harness import start_redis

TEAM = "T0BENCH"

Authorize = Callable[..., Awaitable[object]]


async def _measure(
    name: str, authorize: Authorize, client: AsyncWebClient, slack: FakeSlack, requests: int
) -> tuple[str, float, list[float]]:
    before = len(slack.api_calls("auth.test"))
    took = []
    for _ in range(requests):
        context = AsyncBoltContext({"client": client, "team_id": TEAM})
        started = time.perf_counter()
        result = await authorize(context=context, enterprise_id=None, team_id=TEAM, user_id="U1")
        took.append(time.perf_counter() - started)
        assert result is not None
    calls = (len(slack.api_calls("auth.test")) - before) / requests
    return name, calls, took


async def _run(redis_url: str, slack: FakeSlack, slack_url: str, requests: int) -> list[str]:
    redis = redis_client(redis_url)
    store = RedisInstallationStore(redis, KeyBox([SecretStr(new_secret_key())]))
    minted = slack.installs.exchange(
        {
            "code": slack.installs.approve(TEAM),
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        {},
    )
    await store.async_save(
        Installation(
            app_id="A0CONVOY",
            team_id=TEAM,
            user_id="U1",
            bot_token=minted["access_token"],
            bot_id="BBOT",
            bot_user_id=minted["bot_user_id"],
            bot_scopes=minted["scope"],
        )
    )
    client = AsyncWebClient(base_url=f"{slack_url}/api/")
    metrics = Metrics()

    def bolts(cache_enabled: bool) -> AsyncInstallationStoreAuthorize:
        return AsyncInstallationStoreAuthorize(
            logger=logging.getLogger("bench"),
            installation_store=store,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            bot_only=True,
            cache_enabled=cache_enabled,
        )

    ours = StoredAuthorize(WorkspaceTokens(store, redis, None, metrics))
    rows = [
        await _measure(
            "Bolt's default (installation store, no cache)", bolts(False), client, slack, requests
        ),
        await _measure("Bolt's, cache_enabled=True", bolts(True), client, slack, requests),
        await _measure("the bot's StoredAuthorize", ours, client, slack, requests),
    ]
    reads = metrics.installation_lookups.labels("store")._value.get()
    await redis.aclose()
    lines = [
        f"{requests} requests of one installed workspace, one after another.",
        "",
        "| authorize | Slack calls per request | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for name, calls, took in rows:
        ordered = sorted(took)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        lines.append(
            f"| {name} | {calls:.2f} | {statistics.median(took) * 1000:.2f} | {p99 * 1000:.2f} |"
        )
    lines += [
        "",
        f"The bot's: {reads:.0f} Redis read(s) of the installation in {requests} requests.",
    ]
    return lines


def authorize_table(workdir: Path, requests: int) -> list[str]:
    """The report's table: each authorize called `requests` times."""
    slack = FakeSlack(bot_token="xoxb-bench-unused")  # noqa: S106
    server = LoopbackServer(slack.app).start()
    slack.url = server.url
    workdir.mkdir(parents=True, exist_ok=True)
    redis = start_redis(workdir)
    try:
        return asyncio.run(_run(redis.url, slack, server.url, requests))
    finally:
        redis.stop()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.authorize", description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="convoy-bench-auth-") as tmp:
        lines = authorize_table(Path(tmp), args.requests)
    print("\n".join(lines))  # noqa: T201  # the benchmark's report
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
