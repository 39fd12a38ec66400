"""The one clock: every replica reads Redis's time, so timers and expiries agree between them.

A replica's own clock may run ahead or behind; a timer read against it would fire early or
late. `SharedClock` measures how far this machine's clock is from Redis `TIME` at each `sync`
(the scheduler syncs on every tick) and corrects every reading by that. Tests move time by
setting an offset in Redis, which a clock built `movable` adds: the same code runs in tests
and production, only the offset differs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot import redis_keys
from bot.store import Store, failing_closed


class Clock(Protocol):
    def now(self) -> datetime:
        """The shared time as of the last sync, moved on by this machine's clock."""
        ...

    async def sync(self) -> datetime:
        """Read the shared time now (a Redis round trip), for decisions that compare times
        other replicas wrote (expiries, leases)."""
        ...


def wall_clock() -> datetime:
    """This machine's own idea of the time (corrected by SharedClock, never used alone)."""
    return datetime.now(UTC)


# KEYS: the offset a test set. Redis's TIME and that offset in one round trip, from one
# node: on a Redis Cluster, always the node serving the offset's slot (so every replica
# reads the same node's clock, and TIME is not a command a cluster client can pipeline).
_READ = """
local now = redis.call('TIME')
return {now[1], now[2], redis.call('GET', KEYS[1]) or ''}
"""


class SharedClock:
    """Redis's time, read through this machine's clock corrected at every `sync`."""

    def __init__(
        self,
        redis: Store,
        *,
        movable: bool = False,
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self._redis = redis
        self._movable = movable
        self._wall = wall
        self._skew = timedelta(0)  # Redis TIME minus this machine's clock, at the last sync
        self._offset = timedelta(0)  # what a test moved the time by
        self._read = redis.register_script(_READ)

    async def sync(self) -> datetime:
        """Measure the skew against Redis (and read a test's offset); the corrected time."""
        with failing_closed():
            seconds, micros, offset = await self._read(keys=[redis_keys.clock_offset()])
        local = self._wall()
        shared = datetime.fromtimestamp(int(seconds), UTC) + timedelta(microseconds=int(micros))
        self._skew = shared - local
        if self._movable:
            self._offset = timedelta(seconds=float(offset or 0))
        return self.now()

    def now(self) -> datetime:
        return self._wall() + self._skew + self._offset
