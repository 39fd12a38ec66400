"""The in-flight journal: every write the bot sends to Convoy, from before it is sent until
people have been told what it did.

Convoy's pause is a toggle and takes no fencing token, so a write whose answer was lost (a
timeout, a 5xx, a replica stopped mid-call) may still land. While its record stands nobody
else may write to the endpoint (bot.change.locks): "in doubt" until read back, and briefly
"answered" until the change is announced, so the channel hears changes in the order Convoy
made them. The writer removes the record once the change is told; if the writer stopped
first, any replica's scheduler settles the record at its `settle_at` by reading Convoy,
never by writing again, and reports it (bot.timers.settling). So a sent write is always reported.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from redis.asyncio.client import Pipeline
from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.models import FlightState, InFlight
from bot.store import ShardedDue, Store, failing_closed, slot_transaction

RECORD_TTL = timedelta(days=2)  # a backstop only: records are deleted once told
OWN_WRITE_TTL = timedelta(days=7)  # the watcher compares it with the last status it saw
LEASE = timedelta(minutes=2)  # a settling replica's hold on a due record

# KEYS: lock, record, due set, own write. ARGV: lock token, lock ttl ms, settle_at, member,
# own write, fields... Records the change only while the caller still holds the endpoint's
# lock, and renews the lock for the write: no write is ever sent by a caller whose lock ran
# out. The own write outlives the record: a write that lands late is still the bot's.
_BEGIN = f"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[4], ARGV[5], 'EX', {int(OWN_WRITE_TTL.total_seconds())})
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[2], {int(RECORD_TTL.total_seconds())})
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""

# KEYS: record, due set. ARGV: change id, member. The record goes only while it is still
# this change's (a later change may have begun since the lock was released), in one round
# trip: read and delete cannot be split by another writer.
_FINISH = """
if redis.call('HGET', KEYS[1], 'change_id') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""

# KEYS: record. ARGV: change id, fields... Marks a doubt told, only while it is this change's.
_NOTE_TOLD = """
if redis.call('HGET', KEYS[1], 'change_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
"""


def _due_set(record: InFlight) -> str:
    """The sorted set of the record's shard, where it waits to be settled."""
    return redis_keys.in_flight_due(redis_keys.shard(record.project, record.uid))


def _fields(record: InFlight) -> list[EncodableT]:
    flat: list[EncodableT] = []
    for key, value in record.model_dump(mode="json").items():
        flat += [key, str(value)]
    return flat


class InFlightJournal:
    """Records, defers, leases and finishes in-flight changes."""

    def __init__(self, redis: Store, report_within: timedelta) -> None:
        self._redis = redis
        # An answered write is announced well within this; if its replica stopped before
        # telling anyone, another replica reports it then.
        self.report_within = report_within
        self._begin = redis.register_script(_BEGIN)
        self._finish = redis.register_script(_FINISH)
        self._note_told = redis.register_script(_NOTE_TOLD)
        self._due = ShardedDue(redis, redis_keys.in_flight_due)

    async def begin(self, record: InFlight, lock_key: str, token: str, ttl_ms: int) -> bool:
        """Record the change if `token` still holds the lock (renewing it); False if lost."""
        keys = [
            lock_key,
            redis_keys.in_flight(record.project, record.uid),
            _due_set(record),
            redis_keys.own_write(record.project, record.uid),
        ]
        own = f"{record.action.value}|{record.started_at}"
        args: list[EncodableT] = [
            token,
            ttl_ms,
            record.settle_at,
            record.member,
            own,
            *_fields(record),
        ]
        with failing_closed():
            return bool(await self._begin(keys=keys, args=args))

    async def get(self, project: str, uid: str) -> InFlight | None:
        with failing_closed():
            fields = await self._redis.hgetall(redis_keys.in_flight(project, uid))
        return InFlight.model_validate(fields) if fields else None

    async def defer(self, record: InFlight, settle_at: datetime, note: str) -> InFlight:
        """Leave the change in doubt until `settle_at`, noting what the writer learned."""
        moved = record.model_copy(
            update={
                "settle_at": f"{settle_at.timestamp():.3f}",
                "state": FlightState.IN_DOUBT,
                "note": note,
            }
        )
        mapping: dict[FieldT, EncodableT] = {
            "settle_at": moved.settle_at,
            "state": moved.state.value,
            "note": note,
        }
        with failing_closed():
            key = redis_keys.in_flight(record.project, record.uid)
            async with slot_transaction(self._redis, key) as pipe:
                pipe.hset(key, mapping=mapping)
                pipe.zadd(_due_set(record), {record.member: settle_at.timestamp()})
                await pipe.execute()
        return moved

    async def note_told(self, record: InFlight, channel_id: str, message_ts: str) -> None:
        """The "not confirmed" report was told (in this message, if it has a ts): its
        settled result may follow now, in that message's thread."""
        key = redis_keys.in_flight(record.project, record.uid)
        fields: list[EncodableT] = ["told", "true"]
        if message_ts:
            fields += ["channel_id", channel_id, "message_ts", message_ts]
        with failing_closed():
            await self._note_told(keys=[key], args=[record.change_id, *fields])

    async def postpone(self, record: InFlight, until: datetime) -> None:
        """Look at the record again later (its "not confirmed" report is not told yet)."""
        with failing_closed():
            await self._redis.zadd(_due_set(record), {record.member: until.timestamp()})

    def answered_in(self, pipe: Pipeline, record: InFlight, now: datetime) -> None:
        """Queue "the answer is known, about to be told" on another pipeline (the hold's
        booking): if nobody is told within `report_within`, a replica reports it."""
        key = redis_keys.in_flight(record.project, record.uid)
        report_by = (now + self.report_within).timestamp()
        pipe.hset(key, mapping={"state": FlightState.ANSWERED.value, "settle_at": report_by})
        pipe.zadd(_due_set(record), {record.member: report_by})

    async def answered(self, record: InFlight, now: datetime) -> None:
        with failing_closed():
            key = redis_keys.in_flight(record.project, record.uid)
            async with slot_transaction(self._redis, key) as pipe:
                self.answered_in(pipe, record, now)
                await pipe.execute()

    async def finish(self, record: InFlight) -> None:
        """The change was told (or the write was refused outright): the record goes, unless
        it now belongs to a later change."""
        key = redis_keys.in_flight(record.project, record.uid)
        with failing_closed():
            await self._finish(keys=[key, _due_set(record)], args=[record.change_id, record.member])

    async def of_project(self, project: str) -> list[InFlight]:
        """The project's writes not yet settled and told (for `projects remove`)."""
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                for shard in range(redis_keys.SHARDS):
                    pipe.zrange(redis_keys.in_flight_due(shard), 0, -1)
                shards = cast(list[list[str]], await pipe.execute())
        found = []
        for member in (member for members in shards for member in members):
            scope, _, uid = member.partition("|")
            if scope == project and (record := await self.get(scope, uid)) is not None:
                found.append(record)
        return found

    async def claim_due(self, now: datetime, batch: int = 5) -> list[InFlight]:
        """Records whose time to settle has come, leased to this caller for LEASE."""
        with failing_closed():
            due = await self._due.take(now.timestamp(), (now + LEASE).timestamp(), batch)
        found = []
        for member in due:
            project, uid = member.split("|", 1)
            record = await self.get(project, uid)
            if record is None:
                with failing_closed():
                    await self._redis.zrem(
                        redis_keys.in_flight_due(redis_keys.shard(project, uid)), member
                    )
                continue
            found.append(record)
        return found
