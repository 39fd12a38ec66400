"""CONVOY_BOT_MAX_PENDING: past the bound, the ack itself says the bot is busy and nothing is
taken on; everything acknowledged before is done. No timing: the work in progress is held at
Convoy by a gate the test opens."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import OwnRedisBot, eventually, wait_until_idle
from tests.helpers import BUSY, button, channel_posts, message, metric, reply_to
from tests.slack_requests import SlackSender

OPERATOR = "U0OPERATOR"  # a bootstrap admin of the busy bot (its Redis is its own)


@pytest.fixture
def busy_bot(
    bot_with_own_redis: Callable[..., OwnRedisBot],
    sender_to: Callable[..., SlackSender],
) -> tuple[OwnRedisBot, SlackSender]:
    # Convoy's timeout is longer than the test can hold a request at the gate on a loaded
    # machine: a held read must wait for the gate, not time out and free its slot.
    own = bot_with_own_redis(
        CONVOY_BOT_MAX_PENDING="2", CONVOY_BOT_ADMINS=OPERATOR, CONVOY_TIMEOUT_SECONDS="15"
    )
    return own, sender_to(own.bot)


def test_past_the_bound_the_ack_says_busy_and_nothing_acked_is_lost(
    convoy: FakeConvoy,
    slack: FakeSlack,
    busy_bot: tuple[OwnRedisBot, SlackSender],
    gate: threading.Event,
) -> None:
    own, sender = busy_bot
    earlier = convoy.add_endpoint("earlier-api", slack_webhook_url=slack.hook())
    first = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    second = convoy.add_endpoint("billing-api", slack_webhook_url=slack.hook())
    third = convoy.add_endpoint("search-api", slack_webhook_url=slack.hook())
    sender.command(OPERATOR, f"pause {earlier['uid']} before the rush")
    (earlier_post,) = channel_posts(slack)
    # The earlier pause's work goes on after its channel post (its webhook post, its journal):
    # it must be over, or it holds one of the two places when the rush comes.
    assert wait_until_idle(own.bot.url), "the earlier pause's work ended"
    convoy.set_fault("get", meanwhile=gate.wait)  # each pause waits at its read of Convoy

    taken = [sender.command(OPERATOR, f"pause {e['uid']} incident") for e in (first, second)]
    eventually(lambda: len(convoy.requests) >= 4, what="both pauses reading Convoy")
    refused = sender.command(OPERATOR, f"pause {third['uid']} incident")
    status = sender.command(OPERATOR, f"status {third['uid']}")
    # A command is refused before Bolt when the bot is full; the form's command takes on no
    # work (its form opens in the ack), so it still reaches its listener.
    form = sender.command(OPERATOR, "pause")
    resume = button(earlier_post, ids.RESUME_BUTTON)["value"]
    click = sender.click(OPERATOR, ids.RESUME_BUTTON, resume, message=message(earlier_post))

    assert all("Pausing" in sent.response.json()["text"] for sent in taken)
    assert BUSY in refused.response.json()["text"]
    assert "nothing was changed" in refused.response.json()["text"]
    assert BUSY in status.response.json()["text"]
    assert form.response.text == "", "no message: the form opens instead"
    (opened,) = slack.api_calls("views.open")
    assert opened.payload["trigger_id"] == f"trigger-{form.token}"
    assert click.response.status_code == 200  # a click's ack carries no text: told privately
    (click_reply,) = reply_to(slack, click.token)
    assert BUSY in click_reply
    assert metric(own.bot, "convoy_bot_busy_refusals_total", kind="pause") == 1
    assert metric(own.bot, "convoy_bot_busy_refusals_total", kind="status") == 1
    assert metric(own.bot, "convoy_bot_busy_refusals_total", kind="resume button") == 1

    gate.set()
    convoy.clear_faults()
    posts = channel_posts(slack, 3)  # the earlier pause's post, then both taken pauses'
    told = " ".join(post.text for post in posts)
    assert "orders-api" in told
    assert "billing-api" in told
    assert "search-api" not in told
    paused = {w.endpoint_uid for w in convoy.writes()}
    assert paused == {earlier["uid"], first["uid"], second["uid"]}
    assert convoy.endpoint(third["uid"])["status"] == "active"
    assert convoy.endpoint(earlier["uid"])["status"] == "paused"
    assert slack.replies(refused.token) == []  # refused in the ack: no later word about it

    assert wait_until_idle(own.bot.url), "the taken pauses' work ended (webhook posts, journal)"
    again = sender.command(OPERATOR, f"pause {third['uid']} incident, second try")
    assert "Pausing" in again.response.json()["text"]
    eventually(lambda: convoy.endpoint(third["uid"])["status"] == "paused", what="the second try")
