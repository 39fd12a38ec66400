"""Keeping open App Home boards current: who opened theirs recently, what each was last shown,
and at most one publish per person per few seconds, whichever replica notices the change.

Every scheduler tick (every replica's) builds the board of each recent viewer from Redis (no
Convoy call) and publishes it only when its content differs from what was last published and
the person's last publish is older than the window (CONVOY_BOT_HOME_REFRESH_SECONDS). A burst
of changes between two ticks makes one publish; changes within the window of a publish wait for
the first tick after it. Slack allows `views.publish` about 100 times a minute per workspace: a
few seconds per person keeps a busy incident's dozen viewers well within.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import cast

from bot import redis_keys
from bot.clock import Clock
from bot.home.board import Board, HomeBoard
from bot.store import Store, failing_closed

RECENT = timedelta(hours=1)  # a board opened longer ago than this is left as it is

# KEYS[1] hash of what each person was last shown. ARGV: user, fingerprint, now (epoch s),
# window (s). Claims the publish (recording it) when the board changed and the last publish
# is old enough; 1 if claimed.
_CLAIM = """
local last = redis.call('HGET', KEYS[1], ARGV[1])
if last then
  local at, shown = string.match(last, '^([^|]*)|(.*)$')
  if shown == ARGV[2] then return 0 end
  if tonumber(ARGV[3]) - tonumber(at) < tonumber(ARGV[4]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. ARGV[2])
return 1
"""

Publish = Callable[[Board], Awaitable[bool]]


class HomeViewers:
    """Who opened their Home tab when, and the board each was last published."""

    def __init__(self, redis: Store, window: timedelta) -> None:
        self._redis = redis
        self._window = window  # the least time between two publishes for one person
        self._claim = redis.register_script(_CLAIM)

    async def opened(self, board: Board, now: datetime) -> None:
        """A board just published on opening: the person is a recent viewer, shown this."""
        at = now.timestamp()
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(redis_keys.home_viewers(), {board.user_id: at})
                pipe.hset(redis_keys.home_shown(), board.user_id, f"{at}|{board.fingerprint()}")
                await pipe.execute()

    async def recent(self, now: datetime) -> list[str]:
        """The people who opened their Home tab within RECENT (older ones are dropped): a
        board nobody has looked at for an hour is not worth Slack's rate limit."""
        key = redis_keys.home_viewers()
        since = (now - RECENT).timestamp()
        with failing_closed():
            stale = cast(list[str], await self._redis.zrangebyscore(key, "-inf", f"({since}"))
            if stale:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.zrem(key, *stale)
                    pipe.hdel(redis_keys.home_shown(), *stale)
                    await pipe.execute()
            return cast(list[str], await self._redis.zrange(key, 0, -1))

    async def claim(self, board: Board, now: datetime) -> bool:
        """Whether this replica publishes `board` now (recorded as shown if so)."""
        with failing_closed():
            claimed = await self._claim(
                keys=[redis_keys.home_shown()],
                args=[
                    board.user_id,
                    board.fingerprint(),
                    now.timestamp(),
                    self._window.total_seconds(),
                ],
            )
        return bool(claimed)

    async def forget_shown(self, user_id: str) -> None:
        """A publish that failed: the next tick tries again."""
        with failing_closed():
            await self._redis.hdel(redis_keys.home_shown(), user_id)


class HomeRefresh:
    """The scheduler's round over recent viewers' boards."""

    def __init__(self, viewers: HomeViewers, boards: HomeBoard, clock: Clock) -> None:
        self._viewers = viewers
        self._boards = boards
        self._clock = clock

    async def opened(self, board: Board) -> None:
        await self._viewers.opened(board, self._clock.now())

    async def run(self, publish: Publish) -> int:
        """Publish every recent viewer's board that changed; how many were published."""
        published = 0
        viewers = await self._viewers.recent(self._clock.now())
        # What boards share (pauses, requests, failing endpoints) is read once per round, not
        # once per viewer; only each viewer's roles are their own.
        shared = await self._boards.shared() if viewers else None
        for user_id in viewers:
            board = await self._boards.board(user_id, shared)
            if not await self._viewers.claim(board, self._clock.now()):
                continue
            if await publish(board):
                published += 1
            else:
                await self._viewers.forget_shown(user_id)
        return published
