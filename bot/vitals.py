"""Noticing Redis losing its data under a running bot, and saying so.

Everything the bot knows lives in Redis: holds and their timers, writes in flight, approval
requests, roles. If Redis restarts empty (no persistence, a failover to an empty replica),
every promised auto-resume silently disappears. While it runs the bot keeps a marker key in
Redis; the scheduler checks it on every tick. Gone: the bot logs an error, counts it in
`/metrics`, shows it in `/status`, and writes the marker again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import redis_keys
from bot.clock import Clock
from bot.metrics import Metrics
from bot.store import Store, failing_closed

logger = logging.getLogger(__name__)


@dataclass
class DataLoss:
    """What this replica has seen: how often Redis came back empty, and when last."""

    times: int = 0
    last: datetime | None = None


class DataLossWatch:
    """The marker's keeper."""

    def __init__(self, redis: Store, metrics: Metrics, clock: Clock) -> None:
        self._redis = redis
        self._metrics = metrics
        self._clock = clock
        self.seen = DataLoss()

    async def at_start(self) -> bool:
        """Set the marker; whether Redis held no marker (a first start, or lost data)."""
        with failing_closed():
            empty = bool(await self._redis.set(redis_keys.alive(), self._stamp(), nx=True))
        if empty:
            logger.info(
                "starting with an empty Redis state: a first start, or Redis lost its data "
                "(holds, timers, approvals and roles stored before would be gone)"
            )
        return empty

    async def check(self) -> bool:
        """Whether the marker vanished since the last look (and if so, say it loudly)."""
        with failing_closed():
            vanished = bool(await self._redis.set(redis_keys.alive(), self._stamp(), nx=True))
        if vanished:
            self.seen = DataLoss(self.seen.times + 1, self._clock.now())
            self._metrics.redis_data_losses.inc()
            logger.error(
                "Redis lost its data under the running bot: the pauses it held, their "
                "auto-resume timers, writes in flight, approval requests and stored roles are "
                "gone. Check /convoy paused and Convoy itself; buttons on old messages ask "
                "Convoy before acting."
            )
        return vanished

    def _stamp(self) -> str:
        return self._clock.now().isoformat(timespec="seconds")
