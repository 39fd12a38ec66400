"""`/convoy pause` end to end: through the bot's HTTP server, fake Convoy and fake Slack."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bot.access.roles import Role
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import eventually
from tests.helpers import reply_to
from tests.slack_requests import SlackSender, slack_escape

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


def test_pause_of_paused_endpoint_sends_no_put(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """An already-paused endpoint is left alone and the operator is told so privately."""
    endpoint = convoy.add_endpoint("orders-api", status="paused", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)

    sent = sender.command(OPERATOR, "pause orders-api again")

    (reply,) = reply_to(slack, sent.token)
    assert "is already paused. Nothing was changed." in reply
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert slack.api_calls("chat.postMessage") == []
    assert slack.webhooks() == []


def test_pause_of_inactive_endpoint_is_explained(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """An inactive endpoint cannot be paused: no PUT, and the reason is given."""
    endpoint = convoy.add_endpoint("orders-api", status="inactive")
    grant(OPERATOR, Role.OPERATOR)

    sent = sender.command(OPERATOR, "pause orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert "is *inactive*: Convoy disabled it after repeated delivery failures" in reply
    assert "cannot be paused" in reply
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "inactive"
    assert slack.api_calls("chat.postMessage") == []


def test_pause_timeout_is_never_retried_and_reports_real_status(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A PUT that times out after Convoy applied it: one PUT only, and the status read back."""
    endpoint = convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault(
        "pause", delay=2.5, apply_before_delay=True, times=1
    )  # client gives up at 1.5 s

    sender.command(OPERATOR, "pause orders-api flapping")

    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert len(convoy.writes()) == 1
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert "*New status:* paused" in posts[0].text
    assert "Convoy did not answer in time. The bot did not retry" in posts[0].text
    assert "status read back from Convoy: paused" in posts[0].text


def test_pause_that_did_not_apply_is_not_confirmed_then_settled(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A PUT lost before Convoy applied it (503): one PUT only; the channel hears "not
    confirmed" (Convoy may still apply it), then, read again, that it did not take effect."""
    endpoint = convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault("pause", status=503, times=1)

    sender.command(OPERATOR, "pause orders-api")

    posts = eventually(
        lambda: (found := slack.api_calls("chat.postMessage"))[1:] and found,
        what="the report and its settled result",
    )
    doubt, settled = posts
    assert "is *not confirmed*" in doubt.text
    assert "status read back from Convoy: active" in doubt.text
    assert "*did not take effect*" in settled.text
    assert settled.payload["thread_ts"] == doubt.answer["ts"]
    assert len(convoy.writes()) == 1
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


def test_webhook_not_on_allow_list_is_not_called(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A webhook URL outside SLACK_WEBHOOK_URL_PREFIXES is not called; the channel says so."""
    convoy.add_endpoint("orders-api", slack_webhook_url=f"{slack.url}/elsewhere/T0/B0/x")
    grant(OPERATOR, Role.OPERATOR)

    sender.command(OPERATOR, "pause orders-api")

    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert "was not called: its URL is not on the allowed list" in posts[0].text
    assert slack.webhooks() == []
    assert slack.elsewhere() == []
    assert len(convoy.writes()) == 1


def test_failed_webhook_post_is_reported_and_the_pause_stands(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A webhook answering 410 does not undo the pause; the channel message says it failed."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)
    slack.set_webhook_status(410)

    sender.command(OPERATOR, "pause orders-api")

    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert "refused the post (HTTP 410)" in posts[0].text
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


TRICKY_NAMES = [
    "Orders API",
    'billing "v2" hooks',
    "a&b <team> 100% +1 = ok",
    "café ☕ 🚀 hooks",
]


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_names_and_reasons_with_any_characters(
    name: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
) -> None:
    """Quoted names and reasons with quotes, &, %, +, =, <, emoji and newlines arrive intact."""
    endpoint = convoy.add_endpoint(name)
    convoy.add_endpoint(name + " shadow")  # a partial match that must not be picked
    grant(OPERATOR, Role.OPERATOR)
    reason = 'bad "payloads" & <script> 50% +1 = 🔥\nsecond line'
    quoted = "'" + name + "'" if '"' in name else '"' + name + '"'

    sender.command(OPERATOR, f"pause {quoted} {reason}")

    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert [w.endpoint_uid for w in convoy.writes()] == [endpoint["uid"]]
    assert slack_escape(name) in posts[0].payload["blocks"][0]["text"]["text"]
    assert slack_escape(reason) in posts[0].payload["blocks"][1]["text"]["text"]
    assert "<script>" not in posts[0].text
