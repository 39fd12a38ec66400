"""Which Convoy project each Slack channel acts on (`/convoy bind`)."""

from __future__ import annotations

from bot import redis_keys
from bot.store import Store, failing_closed, slot_transaction


class ChannelBindings:
    """channel id → project scope, in one Redis hash; a project's channels by scanning it
    (a workspace binds tens of channels, not thousands)."""

    def __init__(self, redis: Store) -> None:
        self._redis = redis

    async def bind(self, channel_id: str, scope: str) -> None:
        with failing_closed():
            await self._redis.hset(redis_keys.bindings(), channel_id, scope)

    async def unbind(self, channel_id: str) -> str | None:
        """Remove the channel's binding (and the group it mentions); the scope it had."""
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
