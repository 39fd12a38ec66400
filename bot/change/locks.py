"""Per-endpoint locks in Redis, so two people or two replicas never change one endpoint at once.

Taking the lock also checks the in-flight journal (bot.change.inflight): while a change of the
endpoint is in doubt, nobody but its settler may take it, so no second write can follow an
unanswered one.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from redis.asyncio.client import Pipeline

from bot import redis_keys
from bot.errors import EndpointBusy, WriteInDoubt
from bot.store import STORE_ERRORS, Store, failing_closed

# KEYS: lock, in-flight record. ARGV: token, ttl ms, "settle" to take it despite the record.
# Returns {verdict, action, settle_at}: verdict taken | busy | telling | doubt. A record whose
# answer is known but not yet told keeps writers out too (telling): changes are told in the
# order Convoy made them.
_TAKE = """
if ARGV[3] ~= 'settle' and redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HGET', KEYS[2], 'state') == 'answered' then return {'telling', '', ''} end
  return {'doubt', redis.call('HGET', KEYS[2], 'action') or '',
          redis.call('HGET', KEYS[2], 'settle_at') or ''}
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'taken', '', ''} end
return {'busy', '', ''}
"""

TELLING_WAITS = 40  # times 50 ms: a change's announcement normally takes a few milliseconds
TELLING_PAUSE = 0.05

# Delete the lock only if it is still ours: after a TTL expiry someone else may hold it.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class HeldLock:
    """A lock being held; its release can ride in another pipeline (one round trip less)."""

    def __init__(self, key: str, token: str, ttl_ms: int) -> None:
        self.key = key
        self.token = token
        self.ttl_ms = ttl_ms
        self.released = False

    def release_in(self, pipe: Pipeline) -> None:
        """Queue the release on pipe; the caller executes it with its own writes."""
        # Plain EVAL, not EVALSHA: a pipeline would first ask Redis whether the script is
        # loaded, a round trip of its own.
        pipe.eval(_RELEASE, 1, self.key, self.token)
        self.released = True


class EndpointLocks:
    """Short-lived exclusive locks keyed by project and endpoint uid."""

    def __init__(self, redis: Store, ttl_seconds: float) -> None:
        self._redis = redis
        self._ttl_ms = int(ttl_seconds * 1000)
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)

    @asynccontextmanager
    async def hold(
        self, project: str, uid: str, label: str, *, settling: bool = False
    ) -> AsyncIterator[HeldLock]:
        """Hold the endpoint's lock for the block; EndpointBusy if someone else has it, and
        WriteInDoubt while an earlier change is unsettled (unless `settling` it).

        The TTL bounds how long a crashed holder can block others.
        """
        key = redis_keys.endpoint_lock(project, uid)
        token = secrets.token_hex(16)
        for _ in range(TELLING_WAITS):
            with failing_closed():
                verdict, action, settle_at = await self._take(
                    keys=[key, redis_keys.in_flight(project, uid)],
                    args=[token, self._ttl_ms, "settle" if settling else "write"],
                )
            if verdict != "telling":
                break
            # The previous change is being announced (milliseconds): wait for it, so that
            # people hear the two changes in the order Convoy made them.
            await asyncio.sleep(TELLING_PAUSE)
        if verdict == "doubt":
            raise WriteInDoubt(_doubt_message(label, action, settle_at))
        if verdict != "taken":
            raise EndpointBusy(
                f"Someone is changing *{label}* right now. No change was made; "
                "check `/convoy status` in a few seconds."
            )
        held = HeldLock(key, token, self._ttl_ms)
        try:
            yield held
        finally:
            # If Redis is gone the TTL frees the lock; the change itself already happened or failed.
            if not held.released:
                with contextlib.suppress(*STORE_ERRORS):
                    await self._release(keys=[key], args=[token])


def _doubt_message(label: str, action: str, settle_at: str) -> str:
    when = ""
    if settle_at:
        moment = datetime.fromtimestamp(float(settle_at), UTC)
        when = f" at {moment.strftime('%H:%M:%S')} UTC"
    return (
        f"An earlier {action or 'change'} of *{label}* is not confirmed yet: Convoy may still "
        f"apply it. The bot reads its status again{when} and reports the result. Nothing "
        "was changed now, so that no second write follows an unanswered one."
    )
