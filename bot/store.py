"""Failing closed: any Redis failure becomes AccessStoreUnavailable, so nothing is allowed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import RedisError

from bot.errors import AccessStoreUnavailable


@contextmanager
def failing_closed() -> Iterator[None]:
    """Around Redis calls whose failure must stop the use case with a clear message."""
    try:
        yield
    except RedisError as exc:
        raise AccessStoreUnavailable() from exc
