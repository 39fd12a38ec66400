"""Convoy's refusals and failures reach the user as clear private messages, nothing more."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import eventually
from tests.helpers import reply_to
from tests.slack_requests import SlackSender

OPERATOR = "U0OPERATOR"
# What a proxy or load balancer in front of Convoy answers instead of Convoy's JSON envelope.
BAD_GATEWAY_PAGE = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.mark.parametrize(
    ("operation", "status", "page", "expected"),
    [
        ("list", 401, None, "Convoy rejected the bot's credentials (HTTP 401)"),
        ("get", 403, None, "Convoy rejected the bot's credentials (HTTP 403)"),
        ("list", 429, None, "Convoy is rate-limiting the bot (HTTP 429). Try again in 7 s."),
        ("get", 500, None, "Convoy had an internal error (HTTP 500)"),
        ("pause", 401, None, "Convoy rejected the bot's credentials (HTTP 401)"),
        ("pause", 429, None, "Convoy is rate-limiting the bot (HTTP 429). Try again in 7 s."),
        ("get", 502, BAD_GATEWAY_PAGE, "Convoy had an internal error (HTTP 502)"),
        ("list", 401, BAD_GATEWAY_PAGE, "Convoy rejected the bot's credentials (HTTP 401)"),
        (
            "list",
            429,
            BAD_GATEWAY_PAGE,
            "Convoy is rate-limiting the bot (HTTP 429). Try again in 7 s.",
        ),
    ],
)
def test_convoy_error_is_private_and_nothing_claims_success(
    operation: str,
    status: int,
    page: str | None,
    expected: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
) -> None:
    """401/403/429/5xx from Convoy, as its JSON or as a proxy's HTML page: a specific private
    message that shows no page; no channel post, no webhook."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault(operation, status=status, html=page, retry_after=7 if status == 429 else None)

    sent = sender.command(OPERATOR, "pause orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert expected in reply
    assert "<html" not in reply
    assert "nginx" not in reply
    assert slack.api_calls("chat.postMessage") == []
    assert slack.webhooks() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
    writes = [w.operation for w in convoy.writes()]
    assert writes == (["pause"] if operation == "pause" else []), (
        "a refused toggle is never re-sent"
    )


def test_convoy_unreachable_is_explained(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A Convoy that never answers a read: the user hears it in time, nothing is written."""
    convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault("list", delay=2.5, times=1)

    sent = sender.command(OPERATOR, "status orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert "Convoy did not answer in time." in reply
    assert convoy.writes() == []


def test_malformed_convoy_reply_is_not_trusted(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A PUT answered with junk is ambiguous: the status is read back, never re-sent."""
    endpoint = convoy.add_endpoint("orders-api")
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault("pause", malformed_json=True, times=1)

    sender.command(OPERATOR, "pause orders-api")

    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert "Convoy sent a reply that is not JSON. The bot did not retry" in posts[0].text
    assert len(convoy.writes()) == 1
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


def test_status_changed_between_read_and_write_is_reported(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """The toggle landing on someone else's pause un-pauses it: the channel and webhook hear."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)
    # Someone pauses it in Convoy's UI while the bot's PUT is on its way: the toggle un-pauses.
    convoy.set_fault(
        "pause", meanwhile=lambda: convoy.set_status(endpoint["uid"], "paused"), times=1
    )

    sender.command(OPERATOR, f"pause {endpoint['uid']}")

    post = eventually(lambda: slack.api_calls("chat.postMessage"), what="the warning")[0]
    assert "did not go as asked. Status now: *active*" in post.text
    assert "someone may have changed it at the same moment" in post.text
    assert ids.RESUME_BUTTON not in post.text, "nothing to resume: it is active"
    assert "did not go as asked" in slack.webhooks()[0].text
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


DISABLED_MEANWHILE = "current endpoint status - inactive, does not support pausing or unpausing"


def test_a_write_convoy_refuses_is_told_as_convoy_said_it_and_never_resent(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A 400 on the PUT (Convoy disabled the endpoint between the bot's read and its write):
    Convoy's own words, privately; no announcement, no webhook, no second PUT."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    grant(OPERATOR, Role.OPERATOR)
    convoy.set_fault("pause", status=400, message=DISABLED_MEANWHILE, times=1)

    sent = sender.command(OPERATOR, "pause orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert f"Convoy refused the request: {DISABLED_MEANWHILE}." in reply
    assert slack.api_calls("chat.postMessage") == []
    assert slack.webhooks() == []
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
