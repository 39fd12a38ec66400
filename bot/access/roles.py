"""Roles, and the Redis-held RoleStore mapping Slack users and user groups to them (SPEC §4)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from bot import redis_keys
from bot.errors import InvalidInput
from bot.store import Store, failing_closed

GLOBAL_SCOPE = "*"
_GROUP_ID = re.compile(r"^S[A-Z0-9]+$")


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


def is_group(subject: str) -> bool:
    """Whether a subject id names a Slack user group (`S…`) rather than a user."""
    return bool(_GROUP_ID.match(subject))


@dataclass(frozen=True)
class Grant:
    """One stored role: a user or user group holds `role` in `project` (`*` for all)."""

    subject: str
    project: str
    role: Role

    @property
    def user_id(self) -> str:
        return self.subject

    @property
    def is_group(self) -> bool:
        return is_group(self.subject)


class GroupDirectory(Protocol):
    """Who is in a Slack user group (cached; see bot.access.user_groups)."""

    async def contains(self, group_id: str, user_id: str) -> bool: ...


class RoleStore:
    """Subject → role mapping per project, with a global scope and bootstrap admins."""

    def __init__(
        self,
        redis: Store,
        bootstrap_admins: Iterable[str],
        groups: GroupDirectory | None = None,
    ) -> None:
        self._redis = redis
        self._admins = frozenset(bootstrap_admins)
        self._groups = groups

    @property
    def bootstrap_admins(self) -> list[str]:
        return sorted(self._admins)

    async def effective_role(self, user_id: str, project: str) -> Role:
        """The highest of the user's own and their user groups' roles here; fails closed."""
        role, _ = await self.effective_role_counting(user_id, project, None)
        return role

    async def effective_role_counting(
        self, user_id: str, project: str, counter: tuple[str, int] | None
    ) -> tuple[Role, int]:
        """The effective role, and (when `counter` = (key, ttl) is given) that key counted up
        by one in the same round trip to Redis: a rate limit rides along with the role check."""
        scopes = [project, GLOBAL_SCOPE]
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hmget(redis_keys.user_roles(user_id), scopes)
                pipe.smembers(redis_keys.role_groups())
                if counter is not None:
                    pipe.incr(counter[0])
                    pipe.expire(counter[0], counter[1])
                own, groups, *counted = await pipe.execute()
        used = int(counted[0]) if counted else 0
        return await self._best_role(user_id, own, groups, scopes), used

    async def _best_role(
        self, user_id: str, own: list[str | None], groups: set[str], scopes: list[str]
    ) -> Role:
        if user_id in self._admins:
            return Role.ADMIN
        best = max((_to_role(value) for value in own), default=Role.NONE)
        if not groups or self._groups is None or best is Role.ADMIN:
            return best
        return max(best, await self._group_role(user_id, sorted(groups), scopes, best))

    async def _group_role(
        self, user_id: str, groups: list[str], scopes: list[str], floor: Role
    ) -> Role:
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                for group_id in groups:
                    pipe.hmget(redis_keys.group_roles(group_id), scopes)
                tables = await pipe.execute()
        offered = sorted(
            (
                (max(map(_to_role, values)), group_id)
                for group_id, values in zip(groups, tables, strict=True)
            ),
            reverse=True,
        )
        for role, group_id in offered:
            if role <= floor:
                break
            if self._groups is not None and await self._groups.contains(group_id, user_id):
                return role
        return floor

    async def grant(self, subject: str, role: Role, project: str = GLOBAL_SCOPE) -> None:
        """Store role for a user or user group in project, replacing what was there."""
        table, index = _keys(subject)
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(table, project, role.label)
                pipe.sadd(index, subject)
                await pipe.execute()

    async def revoke(self, subject: str, project: str = GLOBAL_SCOPE) -> bool:
        """Remove the subject's role in project; whether there was one."""
        table, index = _keys(subject)
        with failing_closed():
            removed = int(await self._redis.hdel(table, project))
            if not await self._redis.exists(table):
                await self._redis.srem(index, subject)
        return removed > 0

    async def grants(self, project: str | None = None) -> list[Grant]:
        """Bootstrap admins, then stored grants (all, or those in project and globally)."""
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.smembers(redis_keys.role_holders())
                pipe.smembers(redis_keys.role_groups())
                users, groups = await pipe.execute()
            subjects = sorted(users) + sorted(groups)
            async with self._redis.pipeline(transaction=False) as pipe:
                for subject in subjects:
                    pipe.hgetall(_keys(subject)[0])
                tables = await pipe.execute()
        found = [Grant(admin, GLOBAL_SCOPE, Role.ADMIN) for admin in sorted(self._admins)]
        for subject, table in zip(subjects, tables, strict=True):
            for scope, value in sorted(table.items()):
                if project is None or scope in (project, GLOBAL_SCOPE):
                    found.append(Grant(subject, scope, _to_role(value)))
        return found


def _keys(subject: str) -> tuple[str, str]:
    if is_group(subject):
        return redis_keys.group_roles(subject), redis_keys.role_groups()
    return redis_keys.user_roles(subject), redis_keys.role_holders()


def _to_role(value: str | None) -> Role:
    if value is None:
        return Role.NONE
    try:
        return Role[value.upper()]
    except KeyError:
        return Role.NONE
