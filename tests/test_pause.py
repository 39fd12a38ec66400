"""`/convoy pause` end to end: through the bot's HTTP server, fake Convoy and fake Slack."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.roles import Role
from tests.conftest import eventually
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SlackSender

OPERATOR = "U0OPERATOR"


def test_operator_pauses_active_endpoint_by_name(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """One PUT /pause; the channel and the webhook both say paused; the ack beats Convoy."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault("list", delay=0.6, times=1)  # a slow Convoy: the ack must not wait for it

    sent = sender.command(OPERATOR, "pause orders-api bad payloads since 02:10")

    assert sent.response.status_code == 200
    assert convoy.writes() == [], "the ack came back only after Convoy was called"
    assert "Pausing *orders-api*" in sent.response.json()["text"]
    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    channel = posts[0]
    assert channel.payload["channel"] == "C0INCIDENT"
    assert "was *paused* by <@U0OPERATOR>" in channel.text
    assert "bad payloads since 02:10" in channel.text
    assert "*New status:* paused" in channel.text
    assert "Posted to the endpoint's Slack webhook." in channel.text
    buttons = [b for b in channel.payload["blocks"] if b["type"] == "actions"]
    assert buttons[0]["elements"][0]["text"]["text"] == "Resume"
    assert json.loads(buttons[0]["elements"][0]["value"])["uid"] == endpoint["uid"]
    hooks = slack.webhooks()
    assert len(hooks) == 1
    assert "was *paused* by <@U0OPERATOR>" in hooks[0].text
    assert "actions" not in json.dumps(hooks[0].payload["blocks"])
