"""Only requests signed by Slack, recently, over the exact body, are acted on."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.access.roles import Role
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import ADMIN, SIGNING_SECRET
from tests.helpers import nothing_else_happened
from tests.slack_requests import SlackSender, slack_signature


@pytest.fixture
def pause_body(convoy: FakeConvoy, sender: SlackSender, grant: Callable[..., None]) -> bytes:
    convoy.add_endpoint("orders-api")
    grant(ADMIN, Role.ADMIN)
    return sender.command_body(ADMIN, "pause orders-api", "C0INCIDENT", "forged")


def test_forged_signature_gets_401(
    pause_body: bytes, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A request signed with another secret is refused with 401 and does nothing."""
    stamp = str(int(time.time()))
    forged = slack_signature("not-the-signing-secret", stamp, pause_body)

    response = sender.post(pause_body, timestamp=stamp, signature=forged)

    assert response.status_code == 401
    nothing_else_happened(convoy, slack, sender)


def test_stale_signature_gets_401(
    pause_body: bytes, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A correctly signed request older than five minutes (a replay) is refused."""
    stamp = str(int(time.time()) - 6 * 60)
    signature = slack_signature(SIGNING_SECRET, stamp, pause_body)

    response = sender.post(pause_body, timestamp=stamp, signature=signature)

    assert response.status_code == 401
    nothing_else_happened(convoy, slack, sender)


def test_tampered_body_gets_401(
    pause_body: bytes, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A signature over one body does not cover another."""
    stamp = str(int(time.time()))
    signature = slack_signature(SIGNING_SECRET, stamp, pause_body)
    tampered = pause_body.replace(b"orders-api", b"billing-api")

    response = sender.post(tampered, timestamp=stamp, signature=signature)

    assert response.status_code == 401
    nothing_else_happened(convoy, slack, sender)


def test_missing_signature_headers_get_401(
    pause_body: bytes, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """No signature at all is refused."""
    response = sender.post(pause_body, signed=False)

    assert response.status_code == 401
    nothing_else_happened(convoy, slack, sender)


def test_oversized_body_is_refused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A body over 64 KiB is refused before any parsing."""
    convoy.add_endpoint("orders-api")

    response = sender.post(b"text=" + b"x" * (65 * 1024))

    assert response.status_code == 413
    nothing_else_happened(convoy, slack, sender)


def test_slack_retry_is_acknowledged_and_ignored(
    pause_body: bytes, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A signed delivery marked as Slack's retry gets 200 and is not acted on a second time."""
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}

    response = sender.post(pause_body, extra_headers=retry)

    assert response.status_code == 200
    nothing_else_happened(convoy, slack, sender)


def test_forged_retry_still_gets_401(
    pause_body: bytes, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Claiming to be a retry does not skip the signature check."""
    response = sender.post(
        pause_body, signature="v0=forged", extra_headers={"X-Slack-Retry-Num": "1"}
    )

    assert response.status_code == 401
    nothing_else_happened(convoy, slack, sender)
