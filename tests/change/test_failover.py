"""A Redis Cluster master lost mid-run: its replica is promoted, and nothing is done twice,
lost, or said that is not so.

The test starts a cluster of its own (three masters, a replica each), in the single-node
run of the suite too, and three bot processes on it that the commands are spread over. It
kills the master holding a timed pause's records while commands keep coming. During the
few seconds without that master, a command on an endpoint of its slots is refused with
the store's message (nothing changed) or done once; afterwards every command works again
and the timer, replicated before the loss, resumes the endpoint once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bot import redis_keys
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import ADMIN, BotProcess, eventually
from tests.helpers import post_with
from tests.redis_cluster import ON_CLUSTER, RedisClusterServers, start_redis_cluster
from tests.slack_requests import SlackSender

STORE_DOWN = "The access store (Redis) is unavailable"

# It starts a cluster of its own whatever the session's Redis: once, in the single-node pass.
pytestmark = pytest.mark.skipif(ON_CLUSTER, reason="runs in the single-node pass only")


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    servers = start_redis_cluster(tmp_path / "cluster")
    yield servers
    servers.stop()


def _on_the_same_master(
    servers: RedisClusterServers, scope: str, uids: list[str], first: str
) -> list[str]:
    """The endpoints whose records the master of `first`'s records serves."""
    master = servers.master_of(redis_keys.hold(scope, first)).port
    return [u for u in uids if servers.master_of(redis_keys.hold(scope, u)).port == master]


def _answered(slack: FakeSlack, token: str, uid: str) -> bool:
    """A private reply to the command, or a channel post about its endpoint."""
    if slack.replies(token):
        return True
    for call in slack.api_calls("chat.postMessage"):
        told = (call.payload.get("metadata") or {}).get("event_payload") or {}
        if told.get("endpoint") == uid:
            return True
    return False


def test_a_master_lost_mid_run_loses_no_timer_and_toggles_nothing_twice(
    own_cluster: RedisClusterServers,
    convoy: FakeConvoy,
    slack: FakeSlack,
    scope: str,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    bots = [
        bot_factory(
            REDIS_URL=own_cluster.url,
            CONVOY_BOT_MOVABLE_CLOCK="true",
            CONVOY_BOT_CHANGES_PER_MINUTE="0",  # one person's many pauses in a minute
        )
        for _ in range(3)  # three replicas, the requests spread over them
    ]
    senders = [sender_to(bot) for bot in bots]
    uids = [str(convoy.add_endpoint(f"orders-{n}")["uid"]) for n in range(24)]
    timed = uids[0]
    hit = _on_the_same_master(own_cluster, scope, uids, timed)[1:]
    assert len(hit) >= 2, "24 endpoints over three masters: some share the timed one's"

    senders[0].command(ADMIN, f"pause {timed} for 30m before the loss")
    post_with(slack, "before the loss")
    master = own_cluster.master_of(redis_keys.hold(scope, timed))
    replica = own_cluster.replica_of(master)
    eventually(
        lambda: own_cluster.replicated(replica, redis_keys.hold(scope, timed)),
        what="the hold copied to the replica",
    )

    master.stop()  # the machine is gone: the replica takes over within a few seconds
    during, after = hit[:-1], hit[-1]
    sent = [
        senders[n % 3].command(ADMIN, f"pause {uid} during the failover")
        for n, uid in enumerate(during)
    ]
    eventually(lambda: own_cluster.serves(replica), timeout=30, what="the replica promoted")
    for command, uid in zip(sent, during, strict=True):
        eventually(partial(_answered, slack, command.token, uid), 30, "each command answered")
    replies = [" ".join(r.text for r in slack.replies(c.token)) for c in sent]
    senders[2].command(ADMIN, f"pause {after} after the failover")
    eventually(lambda: convoy.endpoint(after)["status"] == "paused", what="the pause after")
    client = own_cluster.client()
    client.set(redis_keys.clock_offset(), timedelta(minutes=31).total_seconds())
    eventually(lambda: convoy.endpoint(timed)["status"] == "active", what="the auto-resume")

    writes = Counter((w.operation, w.endpoint_uid) for w in convoy.writes())
    assert writes[("pause", timed)] == 1
    assert writes[("activate", timed)] == 1, "the timer fired once, on the promoted replica"
    assert writes[("pause", after)] == 1
    for uid, said in zip(during, replies, strict=True):
        assert "Something unexpected" not in said
        if writes[("pause", uid)] == 0:
            assert STORE_DOWN in said, "refused during the failover, and said so"
            assert convoy.endpoint(uid)["status"] == "active"
        else:
            assert convoy.endpoint(uid)["status"] == "paused"
    assert all(count == 1 for count in writes.values()), "no write sent twice"
    client.close()
