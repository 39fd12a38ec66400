"""The Redis client, and failing closed: any Redis failure stops the use case, allowing nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.errors import AccessStoreUnavailable


@contextmanager
def failing_closed() -> Iterator[None]:
    """Around Redis calls whose failure must stop the use case with a clear message."""
    try:
        yield
    except RedisError as exc:
        raise AccessStoreUnavailable() from exc


def redis_client(url: str) -> aioredis.Redis:
    """A pooled client with timeouts, so a dead Redis fails fast and closed.

    The pool makes callers wait (briefly) for a free connection rather than fail at once
    when a burst wants more connections than it holds.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=5,
        decode_responses=True,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it
