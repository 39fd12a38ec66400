"""The watcher's state in Redis: which projects are due a poll (leased, so that one replica
polls each), what it last saw of each endpoint, the open cards, snoozes and each project's
health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.store import (
    LEASE_DUE,
    RENEW_LEASED,
    SETTLE_LEASED,
    Store,
    failing_closed,
    slot_transaction,
)

M = TypeVar("M", bound=BaseModel)

# How long a replica's lease on its batch of polls lasts unless renewed: the poller renews it
# while it polls (bot.watch.round.KeptLease), however long Convoy takes, and a crashed replica's
# lease runs out after this (CONVOY_BOT_WATCH_LEASE).
LEASE = timedelta(minutes=5)
# Projects leased per tick: the polls run one after another in the tick, so a slow Convoy
# delays this replica's next tick by this many polls at most; other projects wait for the
# next tick (or another replica).
BATCH = 3

# KEYS: the cards hash. ARGV: uid, card id ("" = whichever). Compare and delete in one step.
_TAKE = """
local card = redis.call('HGET', KEYS[1], ARGV[1])
if not card then return false end
if ARGV[2] ~= '' and cjson.decode(card)['card_id'] ~= ARGV[2] then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return card
"""


class Seen(BaseModel):
    """What the watcher saw of one endpoint at its last poll."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: str
    since: float = 0.0  # epoch seconds: the poll that first saw this status
    failing: bool = False  # in a failing episode (one card for all of it)
    rate: float | None = None  # percent
    name: str = ""  # to name it once it is gone


class CardPost(BaseModel):
    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str


class Card(BaseModel):
    """A failing card, in each bound channel it reached, for one episode."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    card_id: str  # uid and the episode's start: a claim on its buttons is per episode
    opened: float  # epoch seconds
    posts: tuple[CardPost, ...] = ()
    text: str = ""  # as posted, so that every copy can be rewritten when the episode ends
    blocks: str = ""  # JSON, its buttons left out
    digest: str = ""  # the digest it is a line of, instead of a card of its own


class Digest(BaseModel):
    """One message for many endpoints that started failing in the same poll: a line each,
    rewritten when its episode ends."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    digest_id: str
    opened: float
    posts: tuple[CardPost, ...] = ()
    refs: dict[str, str] = {}  # uid -> how the endpoint is named, in the order posted
    states: dict[str, str] = {}  # uid -> what its line says now


@dataclass(frozen=True)
class BotWrite:
    """The bot's part in an endpoint's status: a write of its not yet settled (or its lock
    held), and its last write (the status it set, and when)."""

    unsettled: bool
    status: str = ""
    at: float = 0.0

    def explains(self, status: str, since: float) -> bool:
        """Whether the bot set `status` after the previous one was first seen."""
        return self.status == status and self.at >= since


_TARGET = {"pause": "paused", "resume": "active"}


class Health(BaseModel):
    """How a project's watch went at its last poll."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: float  # epoch seconds
    problem: str = ""  # our own error message, never Convoy's body
    failures: int = 0  # polls failed in a row
    endpoints: int = 0
    source: str = ""  # where its failure rates came from (bot.failure_rates.RateSource)
    told: bool = False  # its bound channels were told the watch stopped working


class WatchStore:
    """All of the watcher's keys; each project's own in one hash slot."""

    def __init__(self, redis: Store) -> None:
        self._redis = redis
        self._claim = redis.register_script(LEASE_DUE)
        self._finish = redis.register_script(SETTLE_LEASED)
        self._renew = redis.register_script(RENEW_LEASED)
        self._take = redis.register_script(_TAKE)

    async def watch_only(self, scopes: set[str], now: datetime) -> None:
        """Poll exactly these projects: one newly bound is due now, one unbound is dropped."""
        key = redis_keys.watch_due()
        with failing_closed():
            watched = {str(m) for m in await self._redis.zrange(key, 0, -1)}
            if gone := watched - scopes:
                await self._redis.zrem(key, *gone)
            if new := scopes - watched:
                await self._redis.zadd(key, dict.fromkeys(new, now.timestamp()), nx=True)

    async def claim_due(self, now: datetime, length: timedelta = LEASE) -> tuple[list[str], float]:
        """Projects due a poll, leased to this caller alone until `length` has passed."""
        lease = round((now + length).timestamp(), 3)
        with failing_closed():
            due = await self._claim(
                keys=[redis_keys.watch_due()], args=[now.timestamp(), lease, BATCH]
            )
        return [str(scope) for scope in due], lease

    async def renew(self, scopes: list[str], lease: float, until: float) -> set[str]:
        """Move the lease of `scopes` on to `until`; the scopes still leased to this caller."""
        with failing_closed():
            kept = await self._renew(keys=[redis_keys.watch_due()], args=[lease, until, *scopes])
        return {str(scope) for scope in kept}

    async def finish(self, scope: str, lease: float, next_due: datetime) -> None:
        with failing_closed():
            await self._finish(
                keys=[redis_keys.watch_due()], args=[scope, lease, next_due.timestamp()]
            )

    async def seen(self, scope: str) -> dict[str, Seen]:
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.watch_state(scope))
        return {str(uid): _load(Seen, value) or Seen(status="") for uid, value in raw.items()}

    async def save_seen(self, scope: str, seen: dict[str, Seen], gone: set[str]) -> None:
        key = redis_keys.watch_state(scope)
        with failing_closed():
            async with slot_transaction(self._redis, key) as pipe:
                if seen:
                    pipe.hset(key, mapping={uid: s.model_dump_json() for uid, s in seen.items()})
                if gone:
                    pipe.hdel(key, *gone)
                await pipe.execute()

    async def forget_failing(self, scope: str, uids: list[str]) -> None:
        """These endpoints' failing cards reached no channel: the next poll opens their
        episodes again (and posts again), rather than keeping silent about them."""
        key = redis_keys.watch_state(scope)
        with failing_closed():
            for uid in uids:
                seen = _load(Seen, await self._redis.hget(key, uid))
                if seen is not None and seen.failing:
                    unmarked = seen.model_copy(update={"failing": False})
                    await self._redis.hset(key, uid, unmarked.model_dump_json())

    async def bot_writes(self, scope: str, uids: list[str]) -> dict[str, BotWrite]:
        """For each endpoint, what the bot wrote to it last and whether that is settled."""
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                for uid in uids:
                    pipe.exists(
                        redis_keys.endpoint_lock(scope, uid), redis_keys.in_flight(scope, uid)
                    )
                    pipe.get(redis_keys.own_write(scope, uid))
                answers = await pipe.execute()
        found = {}
        for uid, busy, own in zip(uids, answers[::2], answers[1::2], strict=True):
            action, _, at = str(own or "").partition("|")
            found[uid] = BotWrite(bool(busy), _TARGET.get(action, ""), float(at or 0))
        return found

    async def period_rates(self, scope: str) -> tuple[float, dict[str, float | None]]:
        """When the project's period failure rates were last fetched (epoch; 0: never), and
        each endpoint's (a fraction; None without deliveries)."""
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.watch_rates(scope))
        fields = {str(k): str(v) for k, v in raw.items()}
        at = float(fields.pop("_at", 0) or 0)
        return at, {uid: float(v) if v else None for uid, v in fields.items()}

    async def save_period_rates(
        self, scope: str, at: float, rates: dict[str, float | None]
    ) -> None:
        key = redis_keys.watch_rates(scope)
        mapping: dict[FieldT, EncodableT] = {
            uid: "" if r is None else repr(r) for uid, r in rates.items()
        }
        mapping["_at"] = repr(at)
        with failing_closed():
            async with slot_transaction(self._redis, key) as pipe:
                pipe.delete(key)
                pipe.hset(key, mapping=mapping)
                await pipe.execute()

    async def snooze(self, scope: str, uid: str, until: datetime) -> None:
        with failing_closed():
            await self._redis.hset(redis_keys.watch_settings(scope), uid, until.timestamp())

    async def unsnooze(self, scope: str, uid: str) -> None:
        with failing_closed():
            await self._redis.hdel(redis_keys.watch_settings(scope), uid)

    async def snoozed(self, scope: str, now: datetime) -> dict[str, datetime]:
        """The endpoints snoozed past `now`, and until when."""
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.watch_settings(scope))
        until = {str(uid): datetime.fromtimestamp(float(v), UTC) for uid, v in raw.items()}
        return {uid: moment for uid, moment in until.items() if moment > now}

    async def card(self, scope: str, uid: str) -> Card | None:
        with failing_closed():
            raw = await self._redis.hget(redis_keys.watch_cards(scope), uid)
        return _load(Card, raw) if raw else None

    async def put_card(self, scope: str, uid: str, card: Card) -> None:
        with failing_closed():
            await self._redis.hset(redis_keys.watch_cards(scope), uid, card.model_dump_json())

    async def put_digest(self, scope: str, digest: Digest) -> None:
        key = redis_keys.watch_cards(scope)
        with failing_closed():
            await self._redis.hset(key, digest.digest_id, digest.model_dump_json())

    async def digest(self, scope: str, digest_id: str) -> Digest | None:
        with failing_closed():
            raw = await self._redis.hget(redis_keys.watch_cards(scope), digest_id)
        return _load(Digest, raw) if raw else None

    async def rewrite_line(self, scope: str, digest_id: str, uid: str, line: str) -> Digest | None:
        """Set one endpoint's line of a digest, atomically: lines ended at once (a poll, and a
        `/convoy watch snooze` or a click on another replica) are all kept. The digest as it
        is now; None when it is gone."""
        key = redis_keys.watch_cards(scope)
        with failing_closed():
            async with slot_transaction(self._redis, key) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        raw = await pipe.hget(key, digest_id)
                        digest = _load(Digest, raw) if raw else None
                        if digest is None:
                            return None
                        digest = digest.model_copy(update={"states": {**digest.states, uid: line}})
                        pipe.multi()  # type: ignore[no-untyped-call]  # unannotated in redis-py
                        pipe.hset(key, digest_id, digest.model_dump_json())
                        await pipe.execute()
                        return digest
                    except WatchError:
                        continue  # a card of the project changed meanwhile: read it again

    async def take_card(self, scope: str, uid: str, card_id: str = "") -> Card | None:
        """Remove the endpoint's open card (only the episode `card_id`, when given) and return
        it: whoever takes it updates it, once."""
        with failing_closed():
            raw = await self._take(keys=[redis_keys.watch_cards(scope)], args=[uid, card_id])
        return _load(Card, raw) if raw else None

    async def set_health(self, scope: str, health: Health) -> None:
        with failing_closed():
            await self._redis.hset(redis_keys.watch_health(), scope, health.model_dump_json())

    async def health(self) -> dict[str, Health]:
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.watch_health())
        loaded = {str(scope): _load(Health, value) for scope, value in raw.items()}
        return {scope: h for scope, h in loaded.items() if h is not None}


def _load(model: type[M], raw: object) -> M | None:
    """A stored record, or None when it is missing or from a layout this bot cannot read."""
    if raw is None:
        return None
    try:
        return model.model_validate_json(str(raw))
    except ValidationError:
        return None
