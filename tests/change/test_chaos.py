"""A chaos run: mixed commands and clicks on two replicas while Convoy and Slack fail at random.

Faults: Convoy errors (5xx, 429), unreadable replies, writes applied but answered too late,
writes that land after the bot gave up waiting, replies that drip in, Slack rate-limiting
posts, and a replica stopped with SIGTERM (and replaced) right after it took an action.

Every write the bot sends names the action that caused it (the `X-Convoy-Bot-Change` header:
Slack's trigger id of the command or click), and so does every channel message about a change
(its metadata). Afterwards, once every write in doubt is settled: no action sent two toggles,
and the last status the channel was told for each endpoint is Convoy's status.

Each run draws a new seed, shown in pytest's header and printed; `CHAOS_SEED=<n>` replays
one. `make chaos` runs it long (CHAOS_ACTIONS=400); the default run is a short variant.
"""

from __future__ import annotations

import os
import random
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
import redis

from bot import redis_keys
from bot.access.roles import Role
from bot.convoy import CHANGE_HEADER
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import SIGNING_SECRET, BotProcess, eventually
from tests.helpers import across_shards
from tests.slack_requests import SlackSender

OPERATOR = "U0CHAOS"
ACTIONS = int(os.environ.get("CHAOS_ACTIONS", "40"))
REPLICA_SETTINGS = {
    "CONVOY_TIMEOUT_SECONDS": "0.3",
    "CONVOY_BOT_CHANGES_PER_MINUTE": "0",
    "CONVOY_BOT_SHUTDOWN_GRACE_SECONDS": "0.2",
    # Longer than any late-landing write below takes to land (0.8 s): settling reads Convoy
    # only once a write can no longer land.
    "CONVOY_BOT_SETTLE_SECONDS": "1.5",
}


def _metadata(call: SlackCall) -> dict[str, Any]:
    payload = (call.payload.get("metadata") or {}).get("event_payload")
    return payload if isinstance(payload, dict) else {}


@dataclass
class Replica:
    """One running bot process and the sender that talks to it."""

    bot: BotProcess
    sender: SlackSender


@dataclass
class Cluster:
    """Two replicas sharing Redis, Convoy and Slack; one can be stopped and replaced."""

    start: Callable[..., BotProcess]
    slack: FakeSlack
    replicas: list[Replica] = field(default_factory=list)
    stopped: int = 0

    def add(self) -> None:
        bot = self.start(**REPLICA_SETTINGS)
        sender = SlackSender(bot.url, SIGNING_SECRET, self.slack.url, self.slack.issue_response_url)
        self.replicas.append(Replica(bot, sender))

    def stop(self, replica: Replica) -> None:
        """SIGTERM, as a deploy or a scale-down does, then a replacement."""
        replica.bot.process.send_signal(signal.SIGTERM)
        assert replica.bot.process.wait(timeout=20) == 0
        replica.sender.close()
        self.replicas.remove(replica)
        self.stopped += 1
        self.add()

    def close(self) -> None:
        """Stop every replica gracefully: a report being posted is finished first."""
        for replica in self.replicas:
            replica.sender.close()
            if replica.bot.process.poll() is None:
                replica.bot.process.send_signal(signal.SIGTERM)
                replica.bot.process.wait(timeout=20)


def _inject_faults(rng: random.Random, convoy: FakeConvoy, slack: FakeSlack) -> None:
    convoy.clear_faults()
    roll = rng.random()
    operation = rng.choice(["get", "pause", "activate"])
    write = rng.choice(["pause", "activate"])
    if roll < 0.12:
        convoy.set_fault(operation, status=rng.choice([500, 502, 503, 429]), times=1)
    elif roll < 0.20:
        convoy.set_fault(write, malformed_json=True, times=1)
    elif roll < 0.28:
        # Applied, then too slow to answer: the bot must read back, never write again.
        convoy.set_fault(write, delay=0.5, times=1)
    elif roll < 0.36:
        # Lands after the bot gave up: a second toggle now would undo it.
        convoy.set_fault(write, delay=0.8, apply_before_delay=False, times=1)
    elif roll < 0.42:
        convoy.set_fault(rng.choice(["get", write]), drip=0.002, times=1)
    elif roll < 0.46:
        convoy.set_fault("get", delay=0.5, times=1)
    if rng.random() < 0.1:
        slack.rate_limit("chat.postMessage", times=1, retry_after=1)


def _answered(slack: FakeSlack, token: str) -> bool:
    """The action was told: a private reply, or a channel post naming it."""
    trigger = f"trigger-{token}"
    return bool(slack.replies(token)) or any(
        _metadata(call).get("change_id") == trigger for call in slack.api_calls("chat.postMessage")
    )


def _all_settled(store: redis.Redis) -> bool:
    return not across_shards(store, redis_keys.in_flight_due)


@pytest.mark.chaos
def test_chaos_run_never_toggles_twice_and_ends_true(
    bot_factory: Callable[..., BotProcess],
    convoy: FakeConvoy,
    slack: FakeSlack,
    store: redis.Redis,
    grant: Callable[..., None],
    chaos_seed: int,
) -> None:
    """Random faults and SIGTERMs: no action sends two toggles, and the channel's last word on
    every endpoint is Convoy's status, once every write in doubt is settled."""
    print(f"chaos: seed {chaos_seed} (replay with CHAOS_SEED={chaos_seed})")  # noqa: T201
    rng = random.Random(chaos_seed)
    cluster = Cluster(bot_factory, slack)
    cluster.add()
    cluster.add()
    grant(OPERATOR, Role.OPERATOR)
    uids = [str(convoy.add_endpoint(f"chaos-{n}")["uid"]) for n in range(4)]
    uids.append(str(convoy.add_endpoint("chaos-disabled", status="inactive")["uid"]))
    buttons: dict[str, tuple[str, dict[str, object]]] = {}
    answered = 0

    try:
        for _ in range(ACTIONS):
            uid = rng.choice(uids)
            _inject_faults(rng, convoy, slack)
            replica = rng.choice(cluster.replicas)
            if uid in buttons and rng.random() < 0.3:
                button_value, message = buttons.pop(uid)
                sent = replica.sender.click(
                    OPERATOR, ids.RESUME_BUTTON, button_value, message=message
                )
            else:
                verb = rng.choice(["pause", "resume"])
                sent = replica.sender.command(OPERATOR, f"{verb} {uid} chaos")
            if rng.random() < 0.08:
                cluster.stop(replica)  # mid-action, or just after it
            else:
                eventually(partial(_answered, slack, sent.token), timeout=15, what="the answer")
                answered += 1
            for post in slack.api_calls("chat.postMessage")[-3:]:
                value = _resume_value(post)
                if value and post.answer.get("ok"):
                    endpoint = str(_metadata(post).get("endpoint", ""))
                    buttons[endpoint] = (value, {"ts": post.answer["ts"], **post.payload})
        convoy.clear_faults()
        eventually(lambda: _all_settled(store), timeout=30, what="every write in doubt settled")
    finally:
        cluster.close()  # graceful: a settled report being posted is finished first
    posts = [c for c in slack.api_calls("chat.postMessage") if c.answer.get("ok")]

    writes = Counter(w.headers.get(CHANGE_HEADER.lower(), "") for w in convoy.writes())
    last_told = {
        str(told["endpoint"]): str(told["status"])
        for told in map(_metadata, posts)
        if told.get("endpoint")
    }
    final = {uid: convoy.endpoint(uid)["status"] for uid in uids}
    told_privately = Counter(
        _kind(call.text) for call in slack.calls if call.kind == "response_url"
    )
    print(  # noqa: T201
        f"chaos: {ACTIONS} actions ({answered} answered, {cluster.stopped} replicas stopped), "
        f"{len(convoy.writes())} writes, {len(posts)} channel posts; told privately: "
        f"{dict(told_privately.most_common())}; final {final}, last told {last_told}"
    )
    assert "" not in writes, "every write names the action that sent it"
    assert [action for action, count in writes.items() if count > 1] == [], "two writes"
    assert len(convoy.writes()) > ACTIONS // 20, "the run hardly changed anything"
    disagreeing = {uid: told for uid, told in last_told.items() if told != final[uid]}
    assert disagreeing == {}, "the channel's last word differs from Convoy:\n" + "\n".join(
        _timeline(uid, convoy, posts) for uid in disagreeing
    )
    assert convoy.contract_errors == []


_KINDS = (
    "already paused",
    "already active",
    "is *inactive*",
    "Someone is changing",
    "not confirmed yet",
    "pause this button was made for is over",
    "message's pause is over",
    "already used",
    "did not answer in time",
    "internal error",
    "rate-limiting",
    "cannot read",
    "is not JSON",
    "did not report success",
)


def _kind(text: str) -> str:
    """A private answer's gist, for the run's summary."""
    return next((kind for kind in _KINDS if kind in text), text[:40])


def _timeline(uid: str, convoy: FakeConvoy, posts: list[SlackCall]) -> str:
    """What Convoy received and the channel was told about one endpoint, for a failure."""
    lines = [f"{uid}: Convoy ends {convoy.endpoint(uid)['status']}"]
    lines += [
        f"  convoy {r.operation} by {r.headers.get(CHANGE_HEADER.lower(), '-')}"
        for r in convoy.requests
        if r.endpoint_uid == uid and r.operation in ("get", "pause", "activate")
    ]
    lines += [f"  told {told}" for told in map(_metadata, posts) if told.get("endpoint") == uid]
    return "\n".join(lines)


def _resume_value(post: SlackCall) -> str | None:
    for block in post.payload.get("blocks", []):
        for element in block.get("elements", []):
            if element.get("action_id") == ids.RESUME_BUTTON:
                return str(element["value"])
    return None
