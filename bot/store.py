"""The Redis client, and failing closed: any Redis failure stops the use case, allowing nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import TypeAlias

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisClusterException, RedisError

from bot import redis_keys
from bot.cluster_store import SlotCluster
from bot.errors import AccessStoreUnavailable
from bot.redis_url import is_cluster_url

# What a failing Redis raises: redis-py's errors, and on a cluster also RedisClusterException
# (every node unreachable, a slot not covered), which is not a RedisError.
STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)


@contextmanager
def failing_closed() -> Iterator[None]:
    """Around Redis calls whose failure must stop the use case with a clear message."""
    try:
        yield
    except STORE_ERRORS as exc:
        raise AccessStoreUnavailable() from exc


# One Redis server, or a Redis Cluster (REDIS_URL `redis+cluster://host:port,host:port`).
# Both answer the commands the bot sends; the cluster refuses a script or MULTI whose keys
# lie in different slots, which is why every key names its `{hash tag}` (bot.redis_keys).
Store: TypeAlias = aioredis.Redis | SlotCluster


def slot_transaction(store: Store, key: str) -> AbstractAsyncContextManager[Pipeline]:
    """MULTI/EXEC of commands whose keys all share `key`'s slot (bot.cluster_store says
    why a cluster's are not sent through its own pipeline)."""
    if isinstance(store, SlotCluster):
        return store.slot_transaction(key)
    return store.pipeline(transaction=True)


def redis_client(url: str) -> Store:
    """A pooled client with timeouts, so a dead Redis fails fast and closed.

    The pool makes callers wait (briefly) for a free connection rather than fail at once
    when a burst wants more connections than it holds.
    """
    if is_cluster_url(url):
        return SlotCluster(url)
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


class ShardedDue:
    """Due members of one kind of sharded sorted set (a set per bot.redis_keys shard), taken
    a batch at a time with LEASE_DUE. Each round starts one shard further on, so a batch
    filled by one busy shard never starves the others."""

    def __init__(self, redis: Store, key_of: Callable[[int], str]) -> None:
        self._redis = redis
        self._key_of = key_of
        self._lease = redis.register_script(LEASE_DUE)
        self._start = 0

    async def take(self, now: float, lease_until: float, batch: int) -> list[str]:
        """Up to `batch` members due by `now`, leased to this caller until `lease_until`."""
        start, self._start = self._start, (self._start + 1) % redis_keys.SHARDS
        # Which shards have anything due, in one round trip (one per node of a cluster):
        # most ticks find nothing, and then lease nothing (16 scripts one after another
        # before, per kind of due work, per workspace). The lease script still decides.
        async with self._redis.pipeline(transaction=False) as pipe:
            for shard in range(redis_keys.SHARDS):
                pipe.zcount(self._key_of(shard), "-inf", now)
            counts = await pipe.execute()
        due: list[str] = []
        for step in range(redis_keys.SHARDS):
            shard = (start + step) % redis_keys.SHARDS
            if not counts[shard]:
                continue
            found = await self._lease(
                keys=[self._key_of(shard)], args=[now, lease_until, batch - len(due)]
            )
            due += [str(member) for member in found]
            if len(due) >= batch:
                break
        return due


# Due work in a sorted set (timers, watched projects), shared by replicas.
# KEYS: a due set. ARGV: now, lease end, batch size. Takes due members by pushing their
# score to the lease's end: one replica gets each; if it dies, the member is due again later.
LEASE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due
"""

# KEYS: a due set. ARGV: the lease score, the new lease score, then the members. Moves each
# member still carrying this lease to the new one (never re-adding one removed since, nor
# taking one another replica leased after the lease ran out); returns those kept.
RENEW_LEASED = """
local kept = {}
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and math.abs(tonumber(score) - tonumber(ARGV[1])) <= 0.001 then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
    table.insert(kept, ARGV[i])
  end
end
return kept
"""

# KEYS: a due set. ARGV: member, lease score, new score ("" = remove). Acts only while the
# member still carries this caller's lease: Keep or Extend since then win, and a project
# unbound since is not watched again.
SETTLE_LEASED = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or math.abs(tonumber(score) - tonumber(ARGV[2])) > 0.001 then return 0 end
if ARGV[3] == '' then return redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""
