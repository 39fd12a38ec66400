"""Roles gate every command; a missing role or a dead Redis changes nothing (SPEC §4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.access.roles import Role
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import (
    ADMIN,
    BotProcess,
    OwnRedisBot,
    eventually,
)
from tests.helpers import reply_to
from tests.slack_requests import SlackSender


@pytest.mark.parametrize(
    ("role", "has"), [(None, "you have no role yet"), (Role.VIEWER, "your role is *viewer*")]
)
def test_pause_without_operator_role_is_refused(
    role: Role | None,
    has: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
) -> None:
    """No role or viewer: no Convoy write; a private message names the role and who grants it."""
    endpoint = convoy.add_endpoint("orders-api")
    if role is not None:
        grant("U0SOMEONE", role)

    sent = sender.command("U0SOMEONE", "pause orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert "needs the *requester* role" in reply
    assert has in reply
    assert f"<@{ADMIN}>" in reply
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
    assert slack.api_calls("chat.postMessage") == []


def test_no_role_cannot_even_read(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A user with no role gets no endpoint data from status or list."""
    convoy.add_endpoint("orders-api")

    status = sender.command("U0NOBODY", "status orders-api")
    listing = sender.command("U0NOBODY", "list")

    assert "needs the *viewer* role" in reply_to(slack, status.token)[0]
    assert "needs the *viewer* role" in reply_to(slack, listing.token)[0]
    assert convoy.requests == []


def test_project_role_counts_only_in_its_project(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """An operator grant in another project does not let the user pause in this one."""
    convoy.add_endpoint("orders-api")
    grant("U0ELSEWHERE", Role.OPERATOR, "01HSOMEOTHERPROJECT0000000")

    sent = sender.command("U0ELSEWHERE", "pause orders-api")

    assert "you have no role yet" in reply_to(slack, sent.token)[0]
    assert convoy.writes() == []


def test_bootstrap_admin_may_pause(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, store: object
) -> None:
    """CONVOY_BOT_ADMINS users are admins with nothing stored in Redis."""
    endpoint = convoy.add_endpoint("orders-api")

    sent = sender.command(ADMIN, "pause orders-api")

    assert sent.response.status_code == 200
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the channel post")
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


def test_redis_down_denies_with_clear_message(
    bot_with_own_redis: Callable[..., OwnRedisBot],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
) -> None:
    """With Redis gone, even a bootstrap admin's pause is denied and Convoy sees no write."""
    own = bot_with_own_redis()
    process = own.bot
    endpoint = convoy.add_endpoint("orders-api")
    own.redis.stop()
    sender = sender_to(process)

    sent = sender.command(ADMIN, "pause orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert "The access store (Redis) is unavailable" in reply
    assert "No change was made" in reply
    usage = sender.command(ADMIN, "help")
    assert (
        "Your role: *unknown (the access store is unavailable)*" in reply_to(slack, usage.token)[0]
    )
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
    assert "Traceback" not in process.log()


def test_refusal_names_admins_granted_in_redis(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Admins granted through the role store are named as people who can grant a role."""
    convoy.add_endpoint("orders-api")
    grant("U0LATEADMIN", Role.ADMIN)

    sent = sender.command("U0SOMEONE", "pause orders-api")

    (reply,) = reply_to(slack, sent.token)
    assert f"Admins: <@{ADMIN}>, <@U0LATEADMIN>." in reply
