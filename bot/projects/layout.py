"""Upgrading a Redis written by an earlier version of the bot to today's layout of keys.

Layout 3 (today) keeps an endpoint's records and the indexes that list them in one of
redis_keys.SHARDS hash-tagged shards, so that the bot runs on a Redis Cluster. A Redis of
layout 2 (one index of each kind, keys tagged by endpoint) is moved on start: each record
renamed into its shard, each index split. Earlier still, layout 1:

Before projects were stored, every key and record named the project by its bare Convoy id
(the CONVOY_PROJECT_ID of the time). Now they name its scope (`id@host/path`), so that two
Convoy instances with the same project id never share state. On start, a bot with a project
from the environment moves what the single-project bot wrote: roles, holds and their timers
and reminders, approvals, in-flight writes and open questions. Audit entries stay as they
were written (a stream is append-only); `/convoy audit` reads the old id as that project.

The move runs once (the `layout` key records it), by one replica at a time (a short lock),
and is safe to run again after a crash half-way: each step finds only what is left to move.
Replicas of the old version must be stopped first: they would keep writing the old keys.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from typing import cast

from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.store import Store, failing_closed, slot_transaction

logger = logging.getLogger(__name__)

LAYOUT = "3"  # keys carry the project's scope, and records and indexes their shard

# The names layout 2 gave the keys moved to shards (and layout 1 too, with the bare id).
_V2_INDEXES = {
    "holds": redis_keys.holds_index,
    "timers": redis_keys.resume_timers,
    "reminders": redis_keys.resume_reminders,
    "inflight-due": redis_keys.in_flight_due,
}
_V2_PER_ENDPOINT = {
    "hold": redis_keys.hold,
    "inflight": redis_keys.in_flight,
    "own-write": redis_keys.own_write,
}
_V2_RENAMED = {
    f"{redis_keys.PREFIX}:bindings": redis_keys.bindings(),
    f"{redis_keys.PREFIX}:binding-notify": redis_keys.binding_notify(),
}


def _v2_index(kind: str) -> str:
    return f"{redis_keys.PREFIX}:{kind}"


def _v2_per_endpoint(kind: str, project: str, uid: str) -> str:
    return f"{redis_keys.PREFIX}:{kind}:{{{project}:{uid}}}"


UPGRADE_LOCK_SECONDS = 60
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


async def upgrade_layout(redis: Store, legacy_id: str | None, scope: str) -> int:
    """Move the single-project layout of `legacy_id` to `scope`, and layout 2 to shards;
    how many records moved."""
    with failing_closed():
        if await redis.get(redis_keys.layout_version()) == LAYOUT:
            return 0
        lock = f"{redis_keys.layout_version()}:upgrading"
        while not await redis.set(lock, "1", nx=True, ex=UPGRADE_LOCK_SECONDS):
            await asyncio.sleep(0.5)  # another replica is moving it: wait for it to finish
            if await redis.get(redis_keys.layout_version()) == LAYOUT:
                return 0
        try:
            moved = 0
            version = await redis.get(redis_keys.layout_version())
            if version is None and legacy_id and legacy_id != scope:
                moved += await _Upgrade(redis, legacy_id, scope).run()
            moved += await _IntoShards(redis).run()
            await redis.set(redis_keys.layout_version(), LAYOUT)
        finally:
            await redis.delete(lock)
    if moved:
        logger.info("moved %d records to layout %s (project %s)", moved, LAYOUT, scope)
    return moved


class _Upgrade:
    def __init__(self, redis: Store, old: str, new: str) -> None:
        self._redis = redis
        self._old = old
        self._new = new
        self.moved = 0

    async def run(self) -> int:
        await self._roles()
        await self._per_endpoint("hold")
        await self._per_endpoint("inflight")
        for kind in _V2_INDEXES:
            await self._members(_v2_index(kind))
        await self._approvals()
        await self._questions()
        return self.moved

    def _pattern(self, kind: str) -> str:
        escaped = _GLOB_SPECIAL.sub(r"\\\1", self._old)
        return f"{redis_keys.PREFIX}:{kind}:{{{escaped}:*"

    async def _roles(self) -> None:
        """A role's field named the project: it names the scope now."""
        users = await self._redis.smembers(redis_keys.role_holders())
        groups = await self._redis.smembers(redis_keys.role_groups())
        tables = [redis_keys.user_roles(str(u)) for u in users]
        tables += [redis_keys.group_roles(str(g)) for g in groups]
        for table in tables:
            role = await self._redis.hget(table, self._old)
            if role is None:
                continue
            async with slot_transaction(self._redis, table) as pipe:
                pipe.hsetnx(table, self._new, role)
                pipe.hdel(table, self._old)
                await pipe.execute()
            self.moved += 1

    async def _per_endpoint(self, kind: str) -> None:
        """The hash `kind:{old:uid}` becomes `kind:{new:uid}`; its `project` field, and the
        timer member a hold names, name the scope."""
        prefix = f"{redis_keys.PREFIX}:{kind}:{{{self._old}:"
        async for key in self._redis.scan_iter(match=self._pattern(kind), count=500):
            uid = str(key)[len(prefix) :].removesuffix("}")
            fields: dict[FieldT, EncodableT] = {
                str(k): str(v) for k, v in (await self._redis.hgetall(str(key))).items()
            }
            if not fields:
                continue
            fields["project"] = self._new
            timer = str(fields.get("timer", ""))
            if timer.startswith(f"{self._old}|"):
                fields["timer"] = self._renamed(timer)
            target = _v2_per_endpoint(kind, self._new, uid)
            ttl = await self._redis.pttl(str(key))
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(target, mapping=fields)
                if ttl > 0:
                    pipe.pexpire(target, ttl)
                pipe.delete(str(key))
                await pipe.execute()
            self.moved += 1

    async def _members(self, key: str) -> None:
        """Members `old|…` of a set or sorted set become `new|…`, scores kept."""
        kind = await self._redis.type(key)
        if kind == "set":
            for member in await self._redis.smembers(key):
                if str(member).startswith(f"{self._old}|"):
                    await self._redis.sadd(key, self._renamed(str(member)))
                    await self._redis.srem(key, member)
                    self.moved += 1
        elif kind == "zset":
            scored = cast(
                list[tuple[str, float]], await self._redis.zrange(key, 0, -1, withscores=True)
            )
            for member, score in scored:
                if member.startswith(f"{self._old}|"):
                    await self._redis.zadd(key, {self._renamed(member): score})
                    await self._redis.zrem(key, member)
                    self.moved += 1

    async def _approvals(self) -> None:
        """Requests name their project, and the open-request pointers are keyed by it."""
        match = f"{redis_keys.PREFIX}:approval:*"
        async for key in self._redis.scan_iter(match=match, count=500):
            if await self._redis.hget(str(key), "project") == self._old:
                await self._redis.hset(str(key), "project", self._new)
                self.moved += 1
        prefix = f"{redis_keys.PREFIX}:approval-open:{{{self._old}:"
        async for key in self._redis.scan_iter(match=self._pattern("approval-open"), count=500):
            rest = str(key)[len(prefix) :]
            uid, _, action = rest.partition("}:")
            request_id = await self._redis.get(str(key))
            ttl = await self._redis.pttl(str(key))
            if request_id is not None:
                target = redis_keys.open_approval(self._new, uid, action)
                await self._redis.set(target, request_id, px=ttl if ttl > 0 else None)
                self.moved += 1
            await self._redis.delete(str(key))

    async def _questions(self) -> None:
        """Pick-one and confirm questions still open name the project they were asked in."""
        async for key in self._redis.scan_iter(match=f"{redis_keys.PREFIX}:choice:*", count=500):
            raw = await self._redis.get(str(key))
            try:
                question = json.loads(raw) if raw else None
            except ValueError:
                continue
            if isinstance(question, dict) and question.get("project") == self._old:
                question["project"] = self._new
                await self._redis.set(str(key), json.dumps(question), keepttl=True)
                self.moved += 1

    def _renamed(self, member: str) -> str:
        return self._new + member[len(self._old) :]


class _IntoShards:
    """Layout 2 to 3: each endpoint's records renamed into its shard, each index split.

    Safe to run again after a crash half-way: a record is renamed only if its new name is
    free, and an index is deleted only once every member is in its shard.
    """

    def __init__(self, redis: Store) -> None:
        self._redis = redis
        self.moved = 0

    async def run(self) -> int:
        for kind, key_of in _V2_PER_ENDPOINT.items():
            await self._per_endpoint(kind, key_of)
        for kind, index_of in _V2_INDEXES.items():
            await self._index(_v2_index(kind), index_of)
        for old, new in _V2_RENAMED.items():
            if await self._redis.exists(old):
                await self._redis.renamenx(old, new)
                await self._redis.delete(old)  # a new one existed already: it is newer
                self.moved += 1
        return self.moved

    async def _per_endpoint(self, kind: str, key_of: Callable[[str, str], str]) -> None:
        prefix = f"{redis_keys.PREFIX}:{kind}:{{"
        async for key in self._redis.scan_iter(match=f"{prefix}*", count=500):
            tag = str(key)[len(prefix) :].removesuffix("}")
            project, _, uid = tag.rpartition(":")  # a scope may hold a port; a uid never ':'
            if not project:
                continue
            await self._redis.renamenx(str(key), key_of(project, uid))
            await self._redis.delete(str(key))
            self.moved += 1

    async def _index(self, key: str, index_of: Callable[[int], str]) -> None:
        """Members `project|uid[|…]` go to the index of their endpoint's shard."""
        kind = await self._redis.type(key)
        if kind == "set":
            for member in cast(set[str], await self._redis.smembers(key)):
                await self._redis.sadd(index_of(_shard(member)), member)
        elif kind == "zset":
            scored = cast(
                list[tuple[str, float]], await self._redis.zrange(key, 0, -1, withscores=True)
            )
            for member, score in scored:
                await self._redis.zadd(index_of(_shard(member)), {member: score})
        else:
            return
        self.moved += 1
        await self._redis.delete(key)


def _shard(member: str) -> int:
    project, uid, *_ = member.split("|")
    return redis_keys.shard(project, uid)
