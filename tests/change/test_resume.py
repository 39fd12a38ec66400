"""`/convoy resume` and the Resume button: POST /activate only, never the pause toggle."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import eventually
from tests.helpers import button, message, reply_to
from tests.slack_requests import SlackSender

OPERATOR = "U0OPERATOR"
VIEWER = "U0VIEWER"


def test_resume_of_paused_endpoint_activates_it(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """One POST /activate and no PUT /pause; the channel and webhook say resumed."""
    endpoint = convoy.add_endpoint("orders-api", status="paused", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)

    sent = sender.command(OPERATOR, "resume orders-api customer fixed their server")

    assert "Resuming *orders-api*" in sent.response.json()["text"]
    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert [w.operation for w in convoy.writes()] == ["activate"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
    assert "was *resumed* by <@U0OPERATOR>" in posts[0].text
    assert "customer fixed their server" in posts[0].text
    assert "*New status:* active" in posts[0].text
    assert "actions" not in json.dumps(posts[0].payload["blocks"]), "no Resume button after resume"
    assert "was *resumed*" in slack.webhooks()[0].text


def test_resume_of_active_endpoint_changes_nothing(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Resuming an active endpoint sends nothing to Convoy and says it is already active."""
    convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)

    sent = sender.command(OPERATOR, "resume orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert "is already active. Nothing was changed." in reply
    assert convoy.writes() == []


def _pause_and_get_announcement(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> tuple[str, SlackCall]:
    endpoint = convoy.add_endpoint("orders-api")
    sender.command(OPERATOR, "pause orders-api")
    post = eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause post")[0]
    return str(endpoint["uid"]), post


def _resume_value(post: SlackCall) -> str:
    return str(button(post, ids.RESUME_BUTTON)["value"])


def test_resume_button_resumes_and_retires_itself(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """The announcement's Resume button activates once and the message loses its button."""
    grant(OPERATOR, Role.OPERATOR)
    uid, post = _pause_and_get_announcement(convoy, slack, sender)
    slack.reset()

    click = sender.click(OPERATOR, ids.RESUME_BUTTON, _resume_value(post), message=message(post))

    assert click.response.status_code == 200
    updates = eventually(lambda: slack.api_calls("chat.update"), what="the message update")
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]
    assert convoy.endpoint(uid)["status"] == "active"
    assert updates[0].payload["ts"] == post.answer["ts"]
    assert "actions" not in json.dumps(updates[0].payload["blocks"])
    assert "Resumed by <@U0OPERATOR>" in updates[0].text
    assert "was *resumed* by <@U0OPERATOR>" in slack.api_calls("chat.postMessage")[0].text


def test_resume_button_twice_activates_once(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A second click is told who already used the button and sends nothing to Convoy."""
    grant(OPERATOR, Role.OPERATOR)
    _, post = _pause_and_get_announcement(convoy, slack, sender)
    value = _resume_value(post)

    sender.click(OPERATOR, ids.RESUME_BUTTON, value, message=message(post))
    eventually(lambda: slack.api_calls("chat.update"), what="the first click's update")
    second = sender.click(OPERATOR, ids.RESUME_BUTTON, value, message=message(post))

    (reply,) = reply_to(slack, second.token)
    assert "This Resume button was already used by <@U0OPERATOR>" in reply
    assert [w.operation for w in convoy.writes()] == ["pause", "activate"]


def test_resume_button_refuses_a_viewer(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Whoever can see the button, a viewer's click changes nothing and names the role needed."""
    grant(OPERATOR, Role.OPERATOR)
    grant(VIEWER, Role.VIEWER)
    uid, post = _pause_and_get_announcement(convoy, slack, sender)

    click = sender.click(VIEWER, ids.RESUME_BUTTON, _resume_value(post), message=message(post))

    (reply,) = reply_to(slack, click.token)
    assert "needs the *requester* role" in reply
    assert "your role is *viewer*" in reply
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(uid)["status"] == "paused"
