"""Serving many workspaces, one workspace's burst never turns another's commands away: a
workspace takes on at most half of CONVOY_BOT_MAX_PENDING. No timing: A's work is held at
its Convoy by a gate the test opens."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack import FakeSlack
from tests.harness import eventually
from tests.helpers import BUSY, convoy_receives, metric
from tests.workspaces.conftest import (
    ALPHA,
    ALPHA_ADMIN,
    ALPHA_CHANNEL,
    BRAVO,
    BRAVO_ADMIN,
    BRAVO_CHANNEL,
    ManyWorkspaces,
)


def test_one_workspace_s_burst_leaves_places_for_another(
    many: Callable[..., ManyWorkspaces],
    convoy: FakeConvoy,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    second_convoy: tuple[FakeConvoy, str],
    slack: FakeSlack,
    gate: threading.Event,
) -> None:
    """Two places: A's first pause takes A's one; A's second is refused as busy, though a
    place is free, and B's pause still gets it. Everything taken on is done; the refused
    pause changes nothing."""
    bots = many(CONVOY_BOT_MAX_PENDING="2")
    bravo_convoy, _ = second_convoy
    bots.alpha_and_bravo((convoy, convoy_fake[1].url), second_convoy)
    orders = convoy.add_endpoint("orders-api")
    search = convoy.add_endpoint("search-api")
    billing = bravo_convoy.add_endpoint("billing-api")
    alpha, bravo = bots.sender(ALPHA), bots.sender(BRAVO)
    convoy.set_fault("get", meanwhile=gate.wait)  # A's pauses wait at their read of Convoy

    with convoy_receives(convoy, "get", what="A's pause reading Convoy"):
        held = alpha.command(
            ALPHA_ADMIN, f"pause {orders['uid']} incident", channel_id=ALPHA_CHANNEL
        )
    refused = alpha.command(
        ALPHA_ADMIN, f"pause {search['uid']} incident", channel_id=ALPHA_CHANNEL
    )
    taken = bravo.command(BRAVO_ADMIN, f"pause {billing['uid']} incident", channel_id=BRAVO_CHANNEL)

    assert "Pausing" in held.response.json()["text"]
    assert BUSY in refused.response.json()["text"]
    assert "Pausing" in taken.response.json()["text"], "B was turned away by A's burst"
    eventually(
        lambda: bravo_convoy.endpoint(billing["uid"])["status"] == "paused",
        what="B's pause, while A's is still held",
    )
    assert convoy.writes() == []  # A's first is still at the gate
    gate.set()
    convoy.clear_faults()
    eventually(lambda: convoy.endpoint(orders["uid"])["status"] == "paused", what="A's pause")
    assert [w.endpoint_uid for w in convoy.writes()] == [orders["uid"]]
    assert convoy.endpoint(search["uid"])["status"] == "active"
    assert metric(bots.bot, "convoy_bot_busy_refusals_total", kind="pause") == 1
