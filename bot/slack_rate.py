"""Slack's rate limits, kept by the bot before Slack has to: per workspace and method, shared
by every replica through Redis, and `chat.postMessage`'s one message a second per channel.

Each call reserves the next free moment of its workspace's budget for its method (a GCRA in
one Lua script on the workspace's keys: no race between replicas) and waits until then. A
call is never dropped: a burst is spread out, and `/metrics` counts the calls that waited.
Slack's own 429
stays handled too (the client waits Retry-After and sends again), for limits this does not
know. If Redis does not answer, the call goes without waiting: Slack then says 429 itself.
"""

from __future__ import annotations

import asyncio
import logging

from bot import redis_keys, tenancy
from bot.metrics import Metrics
from bot.store import STORE_ERRORS, Store

logger = logging.getLogger(__name__)

# Calls per minute per workspace, by Slack's tiers (api.slack.com/apis/rate-limits): Tier 2
# 20+, Tier 3 50+, Tier 4 100+. Unlisted methods count as Tier 3.
PER_MINUTE = {
    "usergroups.users.list": 20,
    "chat.update": 50,
    "chat.getPermalink": 100,
    "conversations.info": 50,
    "chat.postEphemeral": 100,
    "views.publish": 100,
    "views.open": 100,
    "views.update": 100,
    "auth.test": 100,
    "chat.postMessage": 600,  # special: the limit that binds is the channel's, below
}
DEFAULT_PER_MINUTE = 50
# How many calls may go at once before the pace applies (Slack allows short bursts).
BURST = 10
CHANNEL_BURST = 4  # chat.postMessage to one channel: a few at once, then one a second

# Reserve the next slot of a GCRA in each budget named: KEYS[i] holds its theoretical arrival
# time (ms); ARGV[2i-1], ARGV[2i] its interval and burst tolerance (ms). Returns how long (ms)
# to wait before sending: the longest of the budgets'.
_RESERVE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local longest = 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local wait = tat - tolerance - now
  if wait > longest then longest = wait end
  local next_tat = tat + interval
  redis.call('SET', key, next_tat, 'PX', next_tat - now + 1000)
end
return longest
"""


class SlackRateLimits:
    """Waits, if need be, before each Web API call of the workspace being served."""

    def __init__(self, redis: Store, metrics: Metrics) -> None:
        self._reserve = redis.register_script(_RESERVE)
        self._metrics = metrics

    async def wait_turn(self, method: str, channel: str = "") -> None:
        """Sleep until `method` may be called (to `channel`, for a post) in this workspace."""
        interval = 60_000 // PER_MINUTE.get(method, DEFAULT_PER_MINUTE)
        budgets = [(method, interval, BURST)]
        if method == "chat.postMessage" and channel:
            budgets.append((f"{method}:{channel}", 1000, CHANNEL_BURST))
        try:
            # One round trip: a workspace's budgets share its hash tag (bot.redis_keys).
            keys = [redis_keys.slack_rate(budget) for budget, _, _ in budgets]
            args = [n for _, every, burst in budgets for n in (every, every * (burst - 1))]
            wait_ms = int(await self._reserve(keys=keys, args=args))
        except tenancy.NoWorkspace:
            return  # the OAuth exchange's own calls (the installation is not stored yet)
        except STORE_ERRORS:
            return  # no shared budget to read: Slack's 429 and Retry-After still hold
        if wait_ms > 0:
            self._metrics.slack_rate_waits.labels(method).inc()
            await asyncio.sleep(wait_ms / 1000)
