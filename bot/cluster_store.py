"""The Redis Cluster client, with transactions that do not block the event loop.

redis-py's asyncio cluster pipeline runs every command queued in a transaction on a
private event loop in a new thread, and blocks the caller's loop until it is done: about
2 ms per transaction, the whole bot stalled meanwhile (ten times a transaction on one
server). Every transaction of the bot keeps its keys in one slot (bot.redis_keys), so it
is sent instead as a plain MULTI/EXEC to the master serving that slot, through a client of
that node alone. A slot that moved (a failover) fails the transaction as a whole, closed:
nothing in it was applied, and the slots are read again for the next command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import RedisClusterException, RedisError

from bot.redis_url import cluster_nodes


class SlotCluster(aioredis.RedisCluster):
    """A cluster client that also reaches each master directly, for one-slot transactions."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._node_settings = {
            "username": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "ssl": url.startswith("rediss+"),
            "decode_responses": True,
            "socket_timeout": 2.0,
            "socket_connect_timeout": 2.0,
        }
        super().__init__(
            startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(url)],
            # Per node. Unlike the single-server pool, the cluster client does not wait for
            # a free connection: past this it raises MaxConnectionsError at once (and does
            # not retry it). The bot's concurrency is bounded elsewhere
            # (CONVOY_BOT_MAX_PENDING, the work slots), so this only stays out of the way.
            max_connections=512,
            **self._node_settings,  # type: ignore[arg-type]  # each is one of its keywords
        )
        self._masters: dict[str, aioredis.Redis] = {}

    @asynccontextmanager
    async def slot_transaction(self, key: str) -> AsyncIterator[Pipeline]:
        """MULTI/EXEC on the master serving `key`'s slot (every key queued must share it)."""
        await self.initialize()  # a no-op once the slots are known
        node = self.get_node_from_key(key)
        if node is None:  # the slot has no master now: failing over
            self._request_refresh()
            raise RedisClusterException(f"no master serves the slot of {key}")
        client = self._masters.get(node.name)
        if client is None:
            settings = {k: v for k, v in self._node_settings.items() if k != "ssl"}
            pool = aioredis.BlockingConnectionPool(
                host=node.host, port=node.port, max_connections=64, timeout=5,
                connection_class=(
                    aioredis.SSLConnection if self._node_settings["ssl"] else aioredis.Connection
                ),
                **settings,  # type: ignore[arg-type]
            )  # fmt: skip
            client = self._masters[node.name] = aioredis.Redis.from_pool(pool)
        try:
            async with client.pipeline(transaction=True) as pipe:
                yield pipe
        except (RedisError, RedisClusterException):
            self._masters.pop(node.name, None)
            await client.aclose()
            self._request_refresh(last_failed_node_name=node.name)  # read the slots again
            raise

    async def aclose(self) -> None:
        for client in self._masters.values():
            await client.aclose()
        self._masters.clear()
        await super().aclose()
