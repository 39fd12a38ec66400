"""First-click-wins claims on message buttons, shared by every replica through Redis."""

from __future__ import annotations

from datetime import timedelta

from bot import redis_keys
from bot.store import Store, failing_closed

CLAIM_TTL = timedelta(days=7)  # longer than anyone scrolls back to click an old button


class ButtonClaims:
    """`take` succeeds for exactly one clicker per button per message."""

    def __init__(self, redis: Store) -> None:
        self._redis = redis

    async def take(
        self, channel_id: str, message_ts: str, action_id: str, user_id: str
    ) -> tuple[bool, str]:
        """(whether this click won, who holds the claim): a double click by one user loses too."""
        key = redis_keys.button_claim(channel_id, message_ts, action_id)
        with failing_closed():
            if await self._redis.set(key, user_id, nx=True, ex=CLAIM_TTL):
                return True, user_id
            holder = await self._redis.get(key)
        return False, str(holder or "")

    async def release(self, channel_id: str, message_ts: str, action_id: str) -> None:
        """Give the button back after a failure that changed nothing, so it can be retried."""
        with failing_closed():
            await self._redis.delete(redis_keys.button_claim(channel_id, message_ts, action_id))
