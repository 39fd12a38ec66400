"""Slack's rate limits, kept by the bot before Slack has to: per workspace and method, shared
by every replica through Redis, and `chat.postMessage`'s one message a second per channel.

Each call reserves the next free moment of its workspace's budget for its method (a GCRA in
one Lua script on one key: no race between replicas) and waits until then. A call is never
dropped: a burst is spread out, and `/metrics` counts the calls that waited. Slack's own 429
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

# Reserve the next slot of a GCRA: KEYS[1] holds the theoretical arrival time (ms).
# ARGV: interval ms, burst tolerance ms. Returns how long (ms) to wait before sending.
_RESERVE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait < 0 then wait = 0 end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now + 1000)
return wait
"""


class SlackRateLimits:
    """Waits, if need be, before each Web API call of the workspace being served."""

    def __init__(self, redis: Store, metrics: Metrics) -> None:
        self._reserve = redis.register_script(_RESERVE)
        self._metrics = metrics

    async def wait_turn(self, method: str, channel: str = "") -> None:
        """Sleep until `method` may be called (to `channel`, for a post) in this workspace."""
        interval = 60_000 // PER_MINUTE.get(method, DEFAULT_PER_MINUTE)
        try:
            waits = [self._slot(method, interval, BURST)]
            if method == "chat.postMessage" and channel:
                waits.append(self._slot(f"{method}:{channel}", 1000, CHANNEL_BURST))
            wait_ms = max(await asyncio.gather(*waits))
        except tenancy.NoWorkspace:
            return  # the OAuth exchange's own calls (the installation is not stored yet)
        except STORE_ERRORS:
            return  # no shared budget to read: Slack's 429 and Retry-After still hold
        if wait_ms > 0:
            self._metrics.slack_rate_waits.labels(method).inc()
            await asyncio.sleep(wait_ms / 1000)

    async def _slot(self, budget: str, interval_ms: int, burst: int) -> int:
        key = redis_keys.slack_rate(budget)
        return int(await self._reserve(keys=[key], args=[interval_ms, interval_ms * (burst - 1)]))
