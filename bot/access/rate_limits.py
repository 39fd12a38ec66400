"""Per-user limits on state-changing commands, counted in Redis so every replica agrees."""

from __future__ import annotations

from bot import redis_keys
from bot.clock import Clock

WINDOW_SECONDS = 60


class ChangeRateLimiter:
    """A fixed one-minute window per user, on the shared clock; `limit` 0 turns limiting off."""

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit = limit
        self._clock = clock

    def counter(self, user_id: str) -> tuple[str, int] | None:
        """(key, ttl) counting the user's changes in this minute; None when limiting is off.

        The role check increments it in its own round trip to Redis."""
        if self.limit <= 0:
            return None
        window = int(self._clock.now().timestamp()) // WINDOW_SECONDS
        return redis_keys.change_rate(user_id, window), WINDOW_SECONDS * 2

    def exceeded(self, used: int) -> bool:
        return 0 < self.limit < used
