"""Holds: the bot's record of each pause it made, and the Redis timers that end them.

A hold has its own id. A timer names the hold it belongs to, so a timer left over from an
earlier pause never resumes a later one. Due timers are leased atomically: of several
replicas polling at once, exactly one runs each timer; a crashed one's lease runs out.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import cast

from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.clock import Clock
from bot.errors import AlreadyHandled, InvalidInput
from bot.models import Hold
from bot.store import SETTLE_LEASED, ShardedDue, Store, failing_closed, slot_transaction

Rider = Callable[[Pipeline], None]  # writes another module adds to a hold's round trip
LEASE = timedelta(minutes=2)  # longer than an auto-resume can take (lock TTL plus posting)

# KEYS: hold hash, timers, reminders. ARGV: hold id, expected due (epoch), new due, new remind.
# Moves the timer only if the hold and its due time are what the clicker saw.
_EXTEND = """
if redis.call('HGET', KEYS[1], 'hold_id') ~= ARGV[1] then return 'gone' end
if redis.call('HGET', KEYS[1], 'resume_at') ~= ARGV[2] then return 'moved' end
local member = redis.call('HGET', KEYS[1], 'timer')
if redis.call('ZSCORE', KEYS[2], member) == false then return 'gone' end
redis.call('HSET', KEYS[1], 'resume_at', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], member)
redis.call('ZADD', KEYS[3], ARGV[4], member)
return 'extended'
"""

# KEYS: hold hash. ARGV: hold id, then field, value pairs. Only the hold it was meant for
# is touched: a message of an earlier pause never lands on a later one.
_ATTACH = """
if redis.call('HGET', KEYS[1], 'hold_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""

# KEYS: hold hash. ARGV: hold id. Counts a failed auto-resume of this hold; 0 if gone.
_FAILED = """
if redis.call('HGET', KEYS[1], 'hold_id') ~= ARGV[1] then return 0 end
return redis.call('HINCRBY', KEYS[1], 'attempts', 1)
"""

# KEYS: hold hash, holds index, timers, reminders. ARGV: hold id ("" = whichever), index
# member. Compare and delete in one step: a newer pause's hold (and timer) is never removed
# by a caller who looked at an older one. Returns the hold's fields, or {} if none matched.
_RELEASE = """
local id = redis.call('HGET', KEYS[1], 'hold_id')
if not id or (ARGV[1] ~= '' and id ~= ARGV[1]) then return {} end
local fields = redis.call('HGETALL', KEYS[1])
local timer = redis.call('HGET', KEYS[1], 'timer')
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if timer and timer ~= '' then
  redis.call('ZREM', KEYS[3], timer)
  redis.call('ZREM', KEYS[4], timer)
end
return fields
"""

# KEYS: hold hash, timers, reminders. ARGV: hold id. Cancels the hold's timer, once.
_KEEP = """
if redis.call('HGET', KEYS[1], 'hold_id') ~= ARGV[1] then return 'gone' end
local member = redis.call('HGET', KEYS[1], 'timer')
if not member or redis.call('ZREM', KEYS[2], member) == 0 then return 'gone' end
redis.call('ZREM', KEYS[3], member)
redis.call('HSET', KEYS[1], 'resume_at', '')
return 'kept'
"""


def _epoch(moment: datetime) -> str:
    return f"{moment.timestamp():.3f}"


def new_hold(
    *,
    project: str,
    uid: str,
    name: str,
    actor: str,
    reason: str,
    paused_at: datetime,
    duration: timedelta | None,
    channel_id: str = "",
    approver: str = "",
) -> Hold:
    """The record of a pause, with its own id (a button made for it names this id)."""
    hold_id = secrets.token_urlsafe(9)
    due = paused_at + duration if duration else None
    return Hold(
        hold_id=hold_id,
        project=project,
        uid=uid,
        name=name,
        actor=actor,
        approver=approver,
        reason=reason[:500],
        paused_at=_epoch(paused_at),
        resume_at=_epoch(due) if due else "",
        channel_id=channel_id,
        timer=member(project, uid, hold_id) if due else "",
    )


def member(project: str, uid: str, hold_id: str) -> str:
    return f"{project}|{uid}|{hold_id}"


def parse_member(value: str) -> tuple[str, str, str]:
    project, uid, hold_id = value.split("|", 2)
    return project, uid, hold_id


def shard_of_member(value: str) -> int:
    """The shard a timer member's endpoint belongs to."""
    project, uid, _ = parse_member(value)
    return redis_keys.shard(project, uid)


class TimerKind(StrEnum):
    """The two sorted sets of due times: auto-resumes, and the reminders before them."""

    RESUMES = "timers"
    REMINDERS = "reminders"

    def key(self, shard: int) -> str:
        """This kind's sorted set in one shard."""
        if self is TimerKind.RESUMES:
            return redis_keys.resume_timers(shard)
        return redis_keys.resume_reminders(shard)


class HoldStore:
    """Records holds, schedules and moves their timers, and claims due ones."""

    def __init__(self, redis: Store, reminder_lead: timedelta, clock: Clock) -> None:
        self._redis = redis
        self.reminder_lead = reminder_lead
        self._clock = clock
        self._extend = redis.register_script(_EXTEND)
        self._keep = redis.register_script(_KEEP)
        self._settle = redis.register_script(SETTLE_LEASED)
        self._attach = redis.register_script(_ATTACH)
        self._failed = redis.register_script(_FAILED)
        self._due = {kind: ShardedDue(redis, kind.key) for kind in TimerKind}

    async def record(self, hold: Hold, now: datetime, also: Sequence[Rider] = ()) -> Hold:
        """A new hold replaces any earlier one of the endpoint (and so orphans its timer).

        `also` queues more writes in the same round trip (the endpoint lock's release, the
        in-flight record's removal)."""
        key = redis_keys.hold(hold.project, hold.uid)
        shard = redis_keys.shard(hold.project, hold.uid)
        fields: dict[FieldT, EncodableT] = {k: v for k, v in hold.model_dump().items()}
        due = hold.resumes_at
        with failing_closed():
            async with slot_transaction(self._redis, key) as pipe:
                pipe.delete(key)
                pipe.hset(key, mapping=fields)
                pipe.sadd(redis_keys.holds_index(shard), f"{hold.project}|{hold.uid}")
                if due is not None:
                    pipe.zadd(redis_keys.resume_timers(shard), {hold.timer: due.timestamp()})
                    if due - self.reminder_lead > now:
                        remind = due - self.reminder_lead
                        pipe.zadd(
                            redis_keys.resume_reminders(shard), {hold.timer: remind.timestamp()}
                        )
                for rider in also:
                    rider(pipe)
                await pipe.execute()
        return hold

    async def get(self, project: str, uid: str) -> Hold | None:
        with failing_closed():
            fields = await self._redis.hgetall(redis_keys.hold(project, uid))
        return Hold.model_validate(fields) if fields else None

    async def attach_message(
        self, hold: Hold, channel_id: str, message_ts: str, blocks_json: str = ""
    ) -> None:
        """Where the pause was announced (and how): reminders go in its thread, and Extend
        or Keep paused on any message of the pause re-time this one too."""
        await self._attach_fields(
            hold, channel_id=channel_id, message_ts=message_ts, announcement=blocks_json
        )

    async def attach_reminder(self, hold: Hold, reminder_ts: str) -> None:
        await self._attach_fields(hold, reminder_ts=reminder_ts)

    async def _attach_fields(self, hold: Hold, **fields: str) -> None:
        pairs: list[EncodableT] = [hold.hold_id]
        for key, value in fields.items():
            pairs += [key, value]
        with failing_closed():
            await self._attach(keys=[redis_keys.hold(hold.project, hold.uid)], args=pairs)

    async def failed_attempt(self, hold: Hold) -> int:
        """Count a failed auto-resume of this pause; how many so far (0: the hold is gone)."""
        with failing_closed():
            count = await self._failed(
                keys=[redis_keys.hold(hold.project, hold.uid)], args=[hold.hold_id]
            )
        return int(count)

    async def release(
        self, project: str, uid: str, hold_id: str = "", also: Sequence[Rider] = ()
    ) -> Hold | None:
        """End the hold (the endpoint was resumed, or is no longer paused): its timer and
        reminder go too, in one step that compares the hold id; None if it did not match."""
        shard = redis_keys.shard(project, uid)
        keys = [
            redis_keys.hold(project, uid),
            redis_keys.holds_index(shard),
            redis_keys.resume_timers(shard),
            redis_keys.resume_reminders(shard),
        ]
        with failing_closed():
            async with slot_transaction(self._redis, keys[0]) as pipe:
                pipe.eval(_RELEASE, len(keys), *keys, hold_id, f"{project}|{uid}")
                for rider in also:
                    rider(pipe)
                flat, *_ = await pipe.execute()
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        return Hold.model_validate(fields) if fields else None

    async def extend(self, hold: Hold, seen_due: str, by: timedelta) -> datetime:
        """Move the timer by `by`, if nobody moved or cancelled it since the clicker looked."""
        if not hold.resume_at:
            raise InvalidInput("This pause has no auto-resume to extend.")
        due = float(seen_due) + by.total_seconds()
        remind = max(self._clock.now().timestamp(), due - self.reminder_lead.total_seconds())
        keys = self._keys(hold)
        with failing_closed():
            verdict = await self._extend(
                keys=keys, args=[hold.hold_id, seen_due, f"{due:.3f}", remind]
            )
        if verdict == "moved":
            raise AlreadyHandled("The auto-resume time was already changed.", "")
        if verdict != "extended":
            raise InvalidInput("This pause has no auto-resume any more. Nothing was changed.")
        return datetime.fromtimestamp(due, UTC)

    async def keep(self, hold: Hold) -> None:
        """Cancel the timer: the endpoint stays paused until someone resumes it."""
        with failing_closed():
            verdict = await self._keep(keys=self._keys(hold), args=[hold.hold_id])
        if verdict != "kept":
            raise AlreadyHandled("This pause has no auto-resume any more.", "")

    def _keys(self, hold: Hold) -> list[str]:
        shard = redis_keys.shard(hold.project, hold.uid)
        return [
            redis_keys.hold(hold.project, hold.uid),
            redis_keys.resume_timers(shard),
            redis_keys.resume_reminders(shard),
        ]

    async def claim_due(
        self, which: TimerKind, now: datetime, batch: int = 5
    ) -> tuple[list[str], float]:
        """Members whose time has come, leased to this caller alone for LEASE.

        The caller calls `finish` once it has acted; a replica that dies mid-way leaves the
        member to come due again when the lease ends, and the hold decides if it still counts.
        """
        lease = round((now + LEASE).timestamp(), 3)
        with failing_closed():
            due = await self._due[which].take(now.timestamp(), lease, batch)
        return due, lease

    async def settle(
        self, which: TimerKind, timer: str, lease: float, again: datetime | None
    ) -> None:
        """Drop a leased member once acted on, or lease it `again` later after a failure;
        nothing if Keep or Extend changed it since the lease began."""
        when = "" if again is None else str(again.timestamp())
        with failing_closed():
            await self._settle(keys=[which.key(shard_of_member(timer))], args=[timer, lease, when])

    async def all(self) -> list[Hold]:
        """Every hold, oldest pause first."""
        with failing_closed():
            # The client decodes replies (decode_responses=True); redis-py's types cannot say so.
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard in range(redis_keys.SHARDS):
                    pipe.smembers(redis_keys.holds_index(shard))
                indexes = cast(list[set[str]], await pipe.execute())
            entries = set().union(*indexes)
            async with self._redis.pipeline(transaction=False) as pipe:
                for entry in entries:
                    project, uid = entry.split("|", 1)
                    pipe.hgetall(redis_keys.hold(project, uid))
                tables = await pipe.execute()
        holds = [Hold.model_validate(t) for t in tables if t]
        return sorted(holds, key=lambda h: float(h.paused_at))
