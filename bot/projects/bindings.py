"""Which Convoy project each Slack channel acts on (`/convoy bind`)."""

from __future__ import annotations

import time

from bot import redis_keys, tenancy
from bot.store import Store, failing_closed, slot_transaction

# How stale the bindings an announcement's copies go to may be: a channel bound through
# another replica hears copies from this one within it (this replica's own binds at once).
COPIES_REFRESH_SECONDS = 5.0


class ChannelBindings:
    """channel id → project scope, in one Redis hash; a project's channels by scanning it
    (a workspace binds tens of channels, not thousands)."""

    def __init__(self, redis: Store) -> None:
        self._redis = redis
        # Per workspace ("" with one): every binding as last read for copies, and when.
        self._for_copies: dict[str, tuple[dict[str, str], float]] = {}

    async def bind(self, channel_id: str, scope: str) -> None:
        self._for_copies.pop(tenancy.current_key(), None)
        with failing_closed():
            await self._redis.hset(redis_keys.bindings(), channel_id, scope)

    async def unbind(self, channel_id: str) -> str | None:
        """Remove the channel's binding (and the group it mentions); the scope it had."""
        self._for_copies.pop(tenancy.current_key(), None)
        with failing_closed():
            async with slot_transaction(self._redis, redis_keys.bindings()) as pipe:
                pipe.hget(redis_keys.bindings(), channel_id)
                pipe.hdel(redis_keys.bindings(), channel_id)
                pipe.hdel(redis_keys.binding_notify(), channel_id)
                scope, *_ = await pipe.execute()
        return str(scope) if scope else None

    async def set_notify(self, channel_id: str, group_id: str) -> None:
        """The user group the channel's failing and disabled cards mention ("" = none)."""
        with failing_closed():
            if group_id:
                await self._redis.hset(redis_keys.binding_notify(), channel_id, group_id)
            else:
                await self._redis.hdel(redis_keys.binding_notify(), channel_id)

    async def notify_groups(self) -> dict[str, str]:
        """channel id -> the user group its cards mention."""
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.binding_notify())
        return {str(channel): str(group) for channel, group in raw.items()}

    async def scope_of(self, channel_id: str) -> str | None:
        with failing_closed():
            scope = await self._redis.hget(redis_keys.bindings(), channel_id)
        return str(scope) if scope else None

    async def all(self) -> dict[str, str]:
        """Every binding: channel id → scope."""
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.bindings())
        return {str(channel): str(scope) for channel, scope in raw.items()}

    async def channels_of(self, scope: str) -> list[str]:
        return sorted(channel for channel, bound in (await self.all()).items() if bound == scope)

    async def copies_go_to(self, scope: str) -> list[str]:
        """The channels a project's announcements are copied to, read from Redis at most
        every COPIES_REFRESH_SECONDS: a pause would otherwise spend a round trip of its own
        on them. Routing a command to its project never uses this (`scope_of` reads now)."""
        whose = tenancy.current_key()
        bound, read_at = self._for_copies.get(whose, ({}, float("-inf")))
        if time.monotonic() - read_at > COPIES_REFRESH_SECONDS:
            bound = await self.all()
            self._for_copies[whose] = (bound, time.monotonic())
        return sorted(channel for channel, scope_bound in bound.items() if scope_bound == scope)
