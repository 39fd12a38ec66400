"""Per-endpoint locks in Redis, so two people or two replicas never change one endpoint at once."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot import redis_keys
from bot.errors import EndpointBusy
from bot.store import failing_closed

# Delete the lock only if it is still ours: after a TTL expiry someone else may hold it.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class HeldLock:
    """A lock being held; its release can ride in another pipeline (one round trip less)."""

    def __init__(self, key: str, token: str) -> None:
        self.key = key
        self.token = token
        self.released = False

    def release_in(self, pipe: Pipeline) -> None:
        """Queue the release on pipe; the caller executes it with its own writes."""
        # Plain EVAL, not EVALSHA: a pipeline would first ask Redis whether the script is
        # loaded, a round trip of its own.
        pipe.eval(_RELEASE, 1, self.key, self.token)
        self.released = True


class EndpointLocks:
    """Short-lived exclusive locks keyed by project and endpoint uid."""

    def __init__(self, redis: aioredis.Redis, ttl_seconds: float) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl_seconds * 1000)
        self._release = redis.register_script(_RELEASE)

    @asynccontextmanager
    async def hold(self, project: str, uid: str, label: str) -> AsyncIterator[HeldLock]:
        """Hold the endpoint's lock for the block; EndpointBusy if someone else has it.

        The TTL bounds how long a crashed holder can block others.
        """
        key = redis_keys.endpoint_lock(project, uid)
        token = secrets.token_hex(16)
        with failing_closed():
            taken = await self._redis.set(key, token, nx=True, px=self._ttl_ms)
        if not taken:
            raise EndpointBusy(
                f"Someone is changing *{label}* right now. No change was made; "
                "check `/convoy status` in a few seconds."
            )
        held = HeldLock(key, token)
        try:
            yield held
        finally:
            # If Redis is gone the TTL frees the lock; the change itself already happened or failed.
            if not held.released:
                with contextlib.suppress(RedisError):
                    await self._release(keys=[key], args=[token])
