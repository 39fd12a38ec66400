"""The move from the single-project layout (keys and records naming the bare Convoy project
id) to the layout keyed by scope, record kind by record kind, on a real Redis of the test's
own (the session's bot would otherwise settle the due records it finds there meanwhile).

The end-to-end test (a bot started on an old Redis) is in test_projects.py; this one checks
every kind of record, that the move runs once, and that it leaves other projects alone.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from bot import redis_keys
from bot.access.roles import Role, RoleStore
from bot.approvals.store import ApprovalStore, NewRequest
from bot.change.holds import new_hold
from bot.clock import SharedClock
from bot.commands.choices import ChoiceStore, PendingChoice, Question
from bot.models import Action, InFlight
from bot.projects.layout import LAYOUT, upgrade_layout
from bot.store import redis_client
from tests.harness import PROJECT, RedisServer, start_redis
from tests.helpers import across_shards
from tests.projects import old_layout

# The layouts it moves from predate Redis Cluster support: one server only.
pytestmark = pytest.mark.single_node

SCOPE = f"{PROJECT}@convoy.example.com/api"
OTHER = "01HPROJECTSOMEONEELSE00000"
UID = "01HENDPOINT000000000000001"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis no bot uses (the session's serves its bot, whose scheduler acts on due work)."""
    server = start_redis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def store(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


async def _old_layout(url: str) -> dict[str, str]:
    """One record of every kind, under the bare id; and one of another project."""
    client = redis_client(url)
    clock = SharedClock(client)
    await clock.sync()
    now = datetime.now(UTC)
    try:
        roles = RoleStore(client, [])
        await roles.grant("U0USER", Role.OPERATOR, PROJECT)
        await roles.grant("U0USER", Role.VIEWER, "*")
        await roles.grant("S0GROUP", Role.APPROVER, PROJECT)
        await roles.grant("U0ELSEWHERE", Role.ADMIN, OTHER)
        hold = new_hold(
            project=PROJECT, uid=UID, name="orders", actor="U0USER", reason="old",
            paused_at=now, duration=timedelta(hours=1),
        )  # fmt: skip
        assert isinstance(client, aioredis.Redis)  # single_node
        await old_layout.write_hold(client, hold, now, timedelta(minutes=5))
        request = await ApprovalStore(client, timedelta(minutes=30), timedelta(seconds=60)).create(
            NewRequest(
                action=Action.RESUME, project=PROJECT, endpoint_uid=UID, endpoint_name="orders",
                endpoint_status="paused", requester="U0USER", reason="", channel_id="C0",
            ),
            now,
        )  # fmt: skip
        asked = PendingChoice(
            user_id="U0USER", verb=Question.PAUSE, project=PROJECT, reason="", uids=[UID]
        )
        question = await ChoiceStore(client).save(asked)
        record = InFlight(
            change_id="c1", project=PROJECT, uid=UID, name="orders", action=Action.PAUSE,
            before="active", actor="U0USER", started_at="1", settle_at="2",
        )  # fmt: skip
        await client.hset(
            old_layout.key_of("inflight", PROJECT, UID),
            mapping={k: str(v) for k, v in record.model_dump(mode="json").items()},
        )
        await client.zadd("convoy-bot:inflight-due", {record.member: 2})
        return {"hold": hold.hold_id, "request": request.id, "question": question}
    finally:
        await client.aclose()


def test_every_record_of_the_single_project_layout_moves_once_and_others_stay(
    store: redis.Redis, redis_server: RedisServer
) -> None:
    made = asyncio.run(_old_layout(redis_server.url))

    moved = asyncio.run(_upgrade(redis_server.url))
    again = asyncio.run(_upgrade(redis_server.url))

    # two roles, the hold, the in-flight record, the holds index and in-flight due entries,
    # the timer and reminder, the request and its open-request pointer, the question; then
    # into shards: the hold, the in-flight record and the four indexes
    assert moved == 11 + 6
    assert again == 0, "the layout key records the move: a second start moves nothing"
    assert store.get(redis_keys.layout_version()) == LAYOUT
    assert store.hgetall(redis_keys.user_roles("U0USER")) == {SCOPE: "operator", "*": "viewer"}
    assert store.hgetall(redis_keys.group_roles("S0GROUP")) == {SCOPE: "approver"}
    assert store.hgetall(redis_keys.user_roles("U0ELSEWHERE")) == {OTHER: "admin"}
    hold = store.hgetall(redis_keys.hold(SCOPE, UID))
    assert hold["project"] == SCOPE
    assert hold["timer"] == f"{SCOPE}|{UID}|{made['hold']}"
    assert store.exists(redis_keys.hold(PROJECT, UID)) == 0
    assert across_shards(store, redis_keys.holds_index) == [f"{SCOPE}|{UID}"]
    assert across_shards(store, redis_keys.resume_timers) == [hold["timer"]]
    assert across_shards(store, redis_keys.resume_reminders) == [hold["timer"]]
    assert store.hget(redis_keys.in_flight(SCOPE, UID), "project") == SCOPE
    assert across_shards(store, redis_keys.in_flight_due) == [f"{SCOPE}|{UID}"]
    assert store.hget(redis_keys.approval(made["request"]), "project") == SCOPE
    assert store.get(redis_keys.open_approval(SCOPE, UID, "resume")) == made["request"]
    assert store.exists(redis_keys.open_approval(PROJECT, UID, "resume")) == 0
    question = json.loads(store.get(redis_keys.pending_choice(made["question"])) or "{}")
    assert question["project"] == SCOPE
    assert store.ttl(redis_keys.pending_choice(made["question"])) > 0, "its expiry is kept"
    leftovers = [k for k in store.scan_iter() if f"{{{PROJECT}:" in k]
    assert leftovers == []


def test_a_redis_without_the_old_project_is_marked_and_left_as_it_is(
    store: redis.Redis, redis_server: RedisServer
) -> None:
    store.hset(redis_keys.user_roles("U0ELSEWHERE"), OTHER, "admin")

    moved = asyncio.run(_upgrade(redis_server.url))

    assert moved == 0
    assert store.get(redis_keys.layout_version()) == LAYOUT
    assert store.hgetall(redis_keys.user_roles("U0ELSEWHERE")) == {OTHER: "admin"}


def test_layout_2_moves_into_shards_once_and_the_stores_read_it(
    store: redis.Redis, redis_server: RedisServer
) -> None:
    """A Redis a bot of layout 2 wrote (one index of each kind): every record lands in its
    endpoint's shard, the indexes are split, the bindings renamed; nothing old is left."""
    other = "01HENDPOINT000000000000002"
    store.set(redis_keys.layout_version(), "2")
    timers = {}
    for uid in (UID, other):
        timer = f"{SCOPE}|{uid}|h-{uid[-1]}"
        store.hset(
            old_layout.key_of("hold", SCOPE, uid),
            mapping={"hold_id": f"h-{uid[-1]}", "timer": timer},
        )
        store.sadd("convoy-bot:holds", f"{SCOPE}|{uid}")
        timers[timer] = 1000.0 + int(uid[-1])
    store.zadd("convoy-bot:timers", timers)
    store.zadd("convoy-bot:reminders", {t: s - 60 for t, s in timers.items()})
    store.hset(old_layout.key_of("inflight", SCOPE, UID), mapping={"change_id": "c1"})
    store.zadd("convoy-bot:inflight-due", {f"{SCOPE}|{UID}": 5.0})
    store.set(old_layout.key_of("own-write", SCOPE, UID), "pause|1", ex=600)
    store.hset("convoy-bot:bindings", "C0BOUND", SCOPE)
    store.hset("convoy-bot:binding-notify", "C0BOUND", "S0GROUP")

    moved = asyncio.run(_upgrade(redis_server.url))
    again = asyncio.run(_upgrade(redis_server.url))

    # two holds, the in-flight record, the own write, four indexes, two bindings' keys
    assert (moved, again) == (10, 0)
    assert store.get(redis_keys.layout_version()) == LAYOUT
    assert store.hget(redis_keys.hold(SCOPE, other), "hold_id") == "h-2"
    assert store.hget(redis_keys.in_flight(SCOPE, UID), "change_id") == "c1"
    assert store.get(redis_keys.own_write(SCOPE, UID)) == "pause|1"
    assert store.ttl(redis_keys.own_write(SCOPE, UID)) > 0, "its expiry is kept"
    assert across_shards(store, redis_keys.holds_index) == sorted(
        f"{SCOPE}|{uid}" for uid in (UID, other)
    )
    for timer, due in timers.items():
        project, uid, _ = timer.split("|")
        shard = redis_keys.shard(project, uid)
        assert store.zscore(redis_keys.resume_timers(shard), timer) == due
        assert store.zscore(redis_keys.resume_reminders(shard), timer) == due - 60
    assert (
        store.zscore(redis_keys.in_flight_due(redis_keys.shard(SCOPE, UID)), f"{SCOPE}|{UID}")
        == 5.0
    )
    assert store.hgetall(redis_keys.bindings()) == {"C0BOUND": SCOPE}
    assert store.hgetall(redis_keys.binding_notify()) == {"C0BOUND": "S0GROUP"}
    old = (
        "convoy-bot:(hold|inflight|own-write):[{]"
        "|convoy-bot:(holds|timers|reminders|inflight-due|bindings|binding-notify)$"
    )
    assert [k for k in store.scan_iter() if re.match(old, k)] == []


async def _upgrade(url: str) -> int:
    client = redis_client(url)
    try:
        return await upgrade_layout(client, PROJECT, SCOPE)
    finally:
        await client.aclose()
