"""Per-user limits on state-changing commands, counted in Redis so every replica agrees."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot import redis_keys
from bot.errors import AccessStoreUnavailable

WINDOW_SECONDS = 60


class ChangeRateLimiter:
    """A fixed one-minute window per user; `limit` 0 turns limiting off."""

    def __init__(self, redis: aioredis.Redis, limit: int) -> None:
        self._redis = redis
        self.limit = limit

    async def count(self, user_id: str) -> int:
        """Count one more change by user in this minute; returns the count so far."""
        if self.limit <= 0:
            return 0
        window = int(time.time()) // WINDOW_SECONDS
        key = redis_keys.change_rate(user_id, window)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS * 2)
                used, _ = await pipe.execute()
        except RedisError as exc:
            raise AccessStoreUnavailable() from exc
        return int(used)

    def exceeded(self, used: int) -> bool:
        return 0 < self.limit < used
