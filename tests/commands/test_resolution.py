"""Name resolution: uid, exact name, pick-one buttons, and not-found answers (SPEC §3)."""

from __future__ import annotations

from collections.abc import Callable

from bot.access.roles import Role
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import eventually
from tests.helpers import buttons, reply_to
from tests.slack_requests import SlackSender

OPERATOR = "U0OPERATOR"


def test_unknown_endpoint_is_named_with_close_matches(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """No match: a private 'no endpoint matches' naming the project and the close names."""
    convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)

    sent = sender.command(OPERATOR, "pause ordrs-api")

    (reply,) = reply_to(slack, sent.token)
    assert "No endpoint matches 'ordrs-api' in project default." in reply
    assert "Did you mean 'orders-api'?" in reply
    assert convoy.writes() == []


def test_uid_resolves_directly(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """An endpoint uid pauses that endpoint with one read and one write: no name search."""
    endpoint = convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)

    sender.command(OPERATOR, f"pause {endpoint['uid']}")

    eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert [r.operation for r in convoy.requests] == ["get", "pause"]


def test_exact_name_wins_over_partial_matches(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """'orders' pauses the endpoint named exactly that, case-insensitively, not 'orders-v2'."""
    exact = convoy.add_endpoint("Orders")
    other = convoy.add_endpoint("orders-v2")
    grant(OPERATOR, Role.OPERATOR)

    sender.command(OPERATOR, "pause orders")

    eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert convoy.endpoint(exact["uid"])["status"] == "paused"
    assert convoy.endpoint(other["uid"])["status"] == "active"


def test_ambiguous_name_offers_buttons_and_the_click_pauses_that_one(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Partial matches only: one button each; clicking one pauses exactly that endpoint."""
    first = convoy.add_endpoint("orders-eu")
    second = convoy.add_endpoint("orders-us")
    grant(OPERATOR, Role.OPERATOR)

    sent = sender.command(OPERATOR, "pause orders incident 42")

    offer = eventually(lambda: slack.replies(sent.token), what="the pick-one message")[0]
    assert "Several endpoints match 'orders'" in offer.text
    offered = buttons(offer)
    assert len(offered) == 2
    chosen = next(b for b in offered if f":{second['uid']}|" in str(b["value"]))
    assert convoy.writes() == []

    sender.click(OPERATOR, str(chosen["action_id"]), str(chosen["value"]))

    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert [w.endpoint_uid for w in convoy.writes()] == [second["uid"]]
    assert convoy.endpoint(first["uid"])["status"] == "active"
    assert "incident 42" in posts[0].text


def test_pick_one_button_works_once_and_only_for_the_asker(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Someone else's click is refused; a second click by the asker finds the choice used."""
    convoy.add_endpoint("orders-eu")
    convoy.add_endpoint("orders-us")
    grant(OPERATOR, Role.OPERATOR)
    grant("U0OTHER", Role.OPERATOR)
    sent = sender.command(OPERATOR, "pause orders")
    offer = eventually(lambda: slack.replies(sent.token), what="the pick-one message")[0]
    button = buttons(offer)[0]
    action_id, value = str(button["action_id"]), str(button["value"])

    stranger = sender.click("U0OTHER", action_id, value)
    assert (
        "Only the person who ran the command can use these buttons"
        in reply_to(slack, stranger.token)[0]
    )
    sender.click(OPERATOR, action_id, value)
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    again = sender.click(OPERATOR, action_id, value)

    assert "already made or has expired" in reply_to(slack, again.token)[0]
    assert len(convoy.writes()) == 1


def test_tampered_pick_value_is_refused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A button value naming an endpoint that was not offered changes nothing."""
    convoy.add_endpoint("orders-eu")
    convoy.add_endpoint("orders-us")
    outsider = convoy.add_endpoint("billing")
    grant(OPERATOR, Role.OPERATOR)
    sent = sender.command(OPERATOR, "pause orders")
    offer = eventually(lambda: slack.replies(sent.token), what="the pick-one message")[0]
    button = buttons(offer)[0]
    choice_id = str(button["value"]).split(":")[0]

    click = sender.click(OPERATOR, str(button["action_id"]), f"{choice_id}:{outsider['uid']}")

    assert "was not one of the choices offered" in reply_to(slack, click.token)[0]
    assert convoy.writes() == []
