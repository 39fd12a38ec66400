"""Scheduler replicas built in a test's own process, as `serve` builds them, on the session's
Redis and fakes, sharing one clock offset in Redis that the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import redis_keys
from bot.compose.app import build_scheduler
from bot.compose.infrastructure import Infrastructure, build_infrastructure
from bot.compose.runtimes import ProjectRuntimes
from bot.settings import Settings
from bot.timers.scheduler import Scheduler
from tests.fakes.slack import FakeSlack


@dataclass
class Replicas:
    """Scheduler replicas in this process, as the bot's `serve` would build them, sharing one
    clock offset in Redis that the test moves."""

    redis: Any
    schedulers: list[Scheduler]

    async def tick_all(self, at: timedelta) -> None:
        await self.redis.set(redis_keys.clock_offset(), at.total_seconds())
        await asyncio.gather(*(s.tick() for s in self.schedulers))


@asynccontextmanager
async def replicas(settings: Settings, count: int = 2) -> AsyncIterator[Replicas]:
    infras: list[Infrastructure] = [replica(settings) for _ in range(count)]
    runtimes = [ProjectRuntimes(infra) for infra in infras]
    try:
        schedulers = [build_scheduler(i, r) for i, r in zip(infras, runtimes, strict=True)]
        yield Replicas(infras[0].redis, schedulers)
    finally:
        await infras[0].redis.delete(redis_keys.clock_offset())
        for infra, runtime in zip(infras, runtimes, strict=True):
            await runtime.aclose()
            await infra.aclose()


def replica(settings: Settings, wall: Callable[[], datetime] | None = None) -> Infrastructure:
    """Another replica's clients and stores, on the same Redis and fakes."""
    url = settings.redis_url or ""
    return build_infrastructure(settings, url, settings.env_project(), None, wall)


def run_replicas(
    settings: Settings, slack: FakeSlack, *steps: timedelta, count: int = 2
) -> list[int]:
    """Tick every replica at each offset from now; how many messages people got at each (the
    chat.postMessage calls Slack took: auto-resume reports, notices and reminders)."""

    def shown() -> int:
        return sum(call.accepted for call in slack.api_calls("chat.postMessage"))

    async def scenario() -> list[int]:
        seen = []
        async with replicas(settings, count) as group:
            for step in steps:
                before = shown()
                await group.tick_all(step)  # the reports are posted before a tick returns
                seen.append(shown() - before)
        return seen

    return asyncio.run(scenario())
