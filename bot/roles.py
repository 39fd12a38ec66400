"""Roles and the Redis-held RoleStore that maps Slack users to them (SPEC §4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot import redis_keys
from bot.errors import AccessStoreUnavailable, InvalidInput

GLOBAL_SCOPE = "*"


class Role(IntEnum):
    """Roles in rising order; each includes everything below it."""

    NONE = 0
    VIEWER = 1
    REQUESTER = 2
    OPERATOR = 3
    APPROVER = 4
    ADMIN = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """A grantable role from its name; InvalidInput otherwise."""
        try:
            role = cls[text.strip().upper()]
        except KeyError:
            role = cls.NONE
        if role is cls.NONE:
            names = ", ".join(r.label for r in cls if r is not cls.NONE)
            raise InvalidInput(f"`{text}` is not a role. Roles: {names}.")
        return role


@dataclass(frozen=True)
class Grant:
    """One stored role: a user holds `role` in `project` (`*` for every project)."""

    user_id: str
    project: str
    role: Role


class RoleStore:
    """User → role mapping per project, with a global scope and bootstrap admins."""

    def __init__(self, redis: aioredis.Redis, bootstrap_admins: Iterable[str]) -> None:
        self._redis = redis
        self._admins = frozenset(bootstrap_admins)

    async def effective_role(self, user_id: str, project: str) -> Role:
        """The higher of the user's project role and global role; fails closed."""
        try:
            stored = await self._redis.hmget(
                redis_keys.user_roles(user_id), [project, GLOBAL_SCOPE]
            )
        except RedisError as exc:
            raise AccessStoreUnavailable() from exc
        if user_id in self._admins:
            return Role.ADMIN
        return max((_to_role(value) for value in stored), default=Role.NONE)

    @property
    def bootstrap_admins(self) -> list[str]:
        return sorted(self._admins)

    async def grant(self, user_id: str, role: Role, project: str = GLOBAL_SCOPE) -> None:
        """Store role for user in project, replacing what was there."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(redis_keys.user_roles(user_id), project, role.label)
                pipe.sadd(redis_keys.role_holders(), user_id)
                await pipe.execute()
        except RedisError as exc:
            raise AccessStoreUnavailable() from exc

    async def revoke(self, user_id: str, project: str = GLOBAL_SCOPE) -> bool:
        """Remove the user's role in project; whether there was one."""
        key = redis_keys.user_roles(user_id)
        try:
            removed = int(await self._redis.hdel(key, project))
            if not await self._redis.exists(key):
                await self._redis.srem(redis_keys.role_holders(), user_id)
        except RedisError as exc:
            raise AccessStoreUnavailable() from exc
        return removed > 0

    async def grants(self, project: str | None = None) -> list[Grant]:
        """Stored grants (all, or those in project and the global scope), plus bootstrap admins."""
        try:
            users = sorted(
                _text(user) for user in await self._redis.smembers(redis_keys.role_holders())
            )
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in users:
                    pipe.hgetall(redis_keys.user_roles(user_id))
                tables = await pipe.execute()
        except RedisError as exc:
            raise AccessStoreUnavailable() from exc
        found = [Grant(admin, GLOBAL_SCOPE, Role.ADMIN) for admin in sorted(self._admins)]
        for user_id, table in zip(users, tables, strict=True):
            for scope, value in sorted(table.items()):
                if project is None or scope in (project, GLOBAL_SCOPE):
                    found.append(Grant(user_id, _text(scope), _to_role(value)))
        return found


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _to_role(value: str | bytes | None) -> Role:
    if value is None:
        return Role.NONE
    try:
        return Role[_text(value).upper()]
    except KeyError:
        return Role.NONE
