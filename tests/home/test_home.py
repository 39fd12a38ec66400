"""The App Home board (issue 15): published when the Home tab opens, for that person only.

A bot on a Redis of its own serves two projects on the fake Convoy: `payments` (the CONVOY_*
variables' project) and `billing` (stored with `convoy-bot projects add`). Roles are granted
per project with the CLI, as an operator would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.settings import Settings
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer, free_port
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import ADMIN, BotProcess, bot_env, eventually, run_cli_here, start_bot
from tests.helpers import form_of, post_with, reply_to
from tests.redis_cluster import start_test_redis
from tests.replicas import replicas
from tests.slack_requests import SlackSender

BILLING = "01HPROJECTBILLING000000000"
BILLING_KEY = "billing-project-key-0123456789"
REQUESTER = "U0PAYASKS"  # requester in payments
APPROVER = "U0PAYDECIDES"  # approver in payments
OPERATOR = "U0PAYOP"  # operator in payments
BILLING_VIEWER = "U0BILLVIEW"  # viewer in billing only
STRANGER = "U0NOROLE"  # no role anywhere
# Longer than any test runs (120 s at most), so that only the clock the test moves decides
# whether a board's last publish is within the window.
REFRESH = timedelta(seconds=300)


@dataclass
class Home:
    """The two-project bot, a sender to it, and its Redis and secret key (for replicas)."""

    sender: SlackSender
    slack: FakeSlack
    redis_url: str
    secret_key: str


@pytest.fixture
def home(
    tmp_path: Path,
    convoy: FakeConvoy,
    slack: FakeSlack,
    convoy_fake: tuple[FakeConvoy, LoopbackServer],
    slack_fake: tuple[FakeSlack, LoopbackServer],
    sender_to: Callable[[BotProcess], SlackSender],
) -> Iterator[Home]:
    """payments and billing, roles granted per project, the bot started after."""
    server = start_test_redis(tmp_path / "redis")
    env = bot_env(convoy_fake[1].url, slack_fake[1].url, server.url, free_port())
    secret_key = Fernet.generate_key().decode()
    env.update(
        {
            "CONVOY_PROJECT_ALIAS": "payments",
            "CONVOY_BOT_SECRET_KEY": secret_key,
            "CONVOY_BOT_MOVABLE_CLOCK": "true",
            # Its scheduler ticks once, at start: boards are refreshed by the test's replicas,
            # on a clock the test moves, so what each tick publishes is the test's to count.
            "CONVOY_BOT_SCHEDULER_INTERVAL_SECONDS": "300",
            "CONVOY_BOT_HOME_REFRESH_SECONDS": str(int(REFRESH.total_seconds())),
        }
    )
    convoy.add_project(BILLING, BILLING_KEY)
    for name in ("orders-api", "refunds", "ledger", "webhooks-eu"):
        convoy.add_endpoint(name)
    convoy.add_endpoint("invoices", project=BILLING)

    def cli(*args: str, **extra: str) -> None:
        done = run_cli_here({**env, **extra}, tmp_path, *args)  # set-up: in this process
        assert done.returncode == 0, done.stderr

    cli(
        "projects", "add", "billing", "--api-url", f"{convoy_fake[1].url}/api",
        "--project-id", BILLING, "--api-key-env", "BILLING_KEY", BILLING_KEY=BILLING_KEY,
    )  # fmt: skip
    for user, role, project in (
        (REQUESTER, "requester", "payments"),
        (APPROVER, "approver", "payments"),
        (OPERATOR, "operator", "payments"),
        (BILLING_VIEWER, "viewer", "billing"),
    ):
        cli("roles", "grant", user, role, "--project", project)
    bot = start_bot(env, tmp_path / "bot")
    yield Home(sender_to(bot), slack, server.url, secret_key)
    bot.stop()
    server.stop()


def board_of(slack: FakeSlack, user_id: str) -> dict[str, Any]:
    """The Home view the bot published for `user_id` (the last one), as Slack received it."""

    def published() -> SlackCall | None:
        calls = [c for c in slack.api_calls("views.publish") if c.payload.get("user_id") == user_id]
        return calls[-1] if calls else None

    call = eventually(published, what=f"a views.publish for {user_id}")
    assert call.accepted, call.answer
    view = call.payload["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def home_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_home_shows_a_pending_approval_and_a_pause_to_the_right_person_only(home: Home) -> None:
    """An approver in payments sees the request with Approve and Deny and the timed pause;
    the requester sees their own request without buttons; a viewer in billing sees neither,
    only billing's pause."""
    sender, slack = home.sender, home.slack
    sender.command(OPERATOR, "pause orders-api for 30m -p payments deploy freeze")
    post_with(slack, "orders-api")
    asked = sender.command(REQUESTER, "resume orders-api -p payments customer ready")
    reply_to(slack, asked.token)
    sender.command(ADMIN, "pause invoices -p billing ledger closed")
    post_with(slack, "invoices")

    for user in (APPROVER, REQUESTER, BILLING_VIEWER):
        sender.home_opened(user)
    approver, requester, viewer = (
        board_of(slack, u) for u in (APPROVER, REQUESTER, BILLING_VIEWER)
    )

    shown = json.dumps(approver["blocks"])
    assert approver["type"] == "home"
    assert "`payments` approver" in shown
    assert "billing" not in shown
    assert "Requests waiting for your decision* (1)" in shown
    assert f"<@{REQUESTER}> asks to *resume* *orders-api*" in shown
    assert [b["action_id"] for b in home_buttons(approver)] == [
        ids.APPROVE_BUTTON,
        ids.DENY_BUTTON,
    ]
    assert "Paused through the bot* (1)" in shown
    assert "*orders-api*" in shown
    assert "invoices" not in shown
    assert "auto-resume: <!date^" in shown
    assert ", in 29m" in shown

    mine = json.dumps(requester["blocks"])
    assert "Your requests waiting for an approver* (1)" in mine
    assert "waiting for your decision" not in mine
    assert home_buttons(requester) == []

    seen = json.dumps(viewer["blocks"])
    assert "`billing` viewer" in seen
    assert "payments" not in seen
    assert "orders-api" not in seen
    assert "asks to" not in seen
    assert home_buttons(viewer) == []
    assert "*invoices*" in seen


def test_a_person_with_no_role_gets_a_board_saying_whom_to_ask(home: Home) -> None:
    """Someone with no role anywhere sees nothing of any project, and which admin to ask."""
    home.sender.home_opened(STRANGER)
    shown = json.dumps(board_of(home.slack, STRANGER)["blocks"])

    assert "Nothing here for you yet" in shown
    assert f"<@{ADMIN}>" in shown
    assert "/convoy roles grant" in shown
    assert "payments" not in shown
    assert "billing" not in shown


def test_opening_the_messages_tab_publishes_nothing(home: Home) -> None:
    """`app_home_opened` also fires for the Messages tab: that publishes no view. The probe, a
    Home opened after it by someone else, is the only view Slack receives."""
    home.sender.home_opened(APPROVER, tab="messages")
    home.sender.home_opened(BILLING_VIEWER)
    board_of(home.slack, BILLING_VIEWER)

    assert [c.payload.get("user_id") for c in home.slack.api_calls("views.publish")] == [
        BILLING_VIEWER
    ]


def home_button(view: dict[str, Any], action_id: str) -> tuple[str, str]:
    """(block id, value) of a button on a Home view."""
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return block["block_id"], element["value"]
    raise AssertionError(f"no {action_id} on the board")


def request_on_board(home: Home) -> tuple[SlackCall, dict[str, Any]]:
    """A requester's pause request, posted in the channel, and the approver's board showing it."""
    home.sender.command(REQUESTER, "pause orders-api -p payments retry storm")
    request = post_with(home.slack, "asks to pause")
    home.sender.home_opened(APPROVER)
    return request, board_of(home.slack, APPROVER)


def direct_messages(slack: FakeSlack, user_id: str, count: int) -> list[str]:
    """Wait for `count` direct messages from the app to `user_id`; their texts."""

    def enough() -> list[str] | None:
        found = [
            c.text
            for c in slack.api_calls("chat.postMessage")
            if c.payload.get("channel") == user_id
        ]
        return found if len(found) >= count else None

    return eventually(enough, what=f"{count} direct message(s) to {user_id}")


def test_approve_on_home_acts_once_and_updates_the_request_in_its_channel(
    home: Home, convoy: FakeConvoy
) -> None:
    """Approve clicked twice on the Home tab: one PUT; the request's own message in its channel
    is updated; the clicker hears by direct message (done, then already approved); the board
    is published again without the request."""
    sender, slack = home.sender, home.slack
    request, board = request_on_board(home)
    block_id, value = home_button(board, ids.APPROVE_BUTTON)

    sender.click_on_home(APPROVER, board, ids.APPROVE_BUTTON, block_id, value)
    sender.click_on_home(APPROVER, board, ids.APPROVE_BUTTON, block_id, value)
    first, second = sorted(direct_messages(slack, APPROVER, 2), key=lambda t: "already" in t)

    assert [r.operation for r in convoy.writes()] == ["pause"]
    assert "Done" in first
    assert "This request was already" in second
    updates = [
        c
        for c in slack.api_calls("chat.update")
        if c.payload.get("ts") == request.answer["ts"] and "Approved" in json.dumps(c.payload)
    ]
    assert [c.payload["channel"] for c in updates] == [request.payload["channel"]]
    # On open, then after each click (each click's board follows its direct message).
    eventually(lambda: publishes(slack, APPROVER) >= 3, what="the board after each click")
    assert publishes(slack, APPROVER) == 3
    assert "asks to" not in json.dumps(board_of(slack, APPROVER)["blocks"])


def test_deny_on_home_opens_the_reason_form_and_denies_in_the_channel(
    home: Home, convoy: FakeConvoy
) -> None:
    """Deny on the Home tab opens the reason form; sent, the request is denied once, its
    message in the channel says so with the reason, nothing reaches Convoy, and the board is
    published again without it."""
    sender, slack = home.sender, home.slack
    request, board = request_on_board(home)
    block_id, value = home_button(board, ids.DENY_BUTTON)

    click = sender.click_on_home(APPROVER, board, ids.DENY_BUTTON, block_id, value)
    sender.submit(APPROVER, form_of(slack, click), {ids.REASON_BLOCK: "not during the sale"})
    (notice,) = direct_messages(slack, APPROVER, 1)

    assert "You denied the request" in notice
    assert convoy.writes() == []
    updated = eventually(
        lambda: [
            c for c in slack.api_calls("chat.update") if c.payload.get("ts") == request.answer["ts"]
        ],
        what="the request updated",
    )
    assert "not during the sale" in json.dumps(updated[-1].payload)
    eventually(lambda: publishes(slack, APPROVER) == 2, what="the board published again")
    assert "asks to" not in json.dumps(board_of(slack, APPROVER)["blocks"])


def publishes(slack: FakeSlack, user_id: str) -> int:
    """How many Home views Slack received for `user_id`."""
    return len([c for c in slack.api_calls("views.publish") if c.payload.get("user_id") == user_id])


def test_a_burst_of_changes_republishes_each_open_board_once(
    home: Home, replica_settings: Settings
) -> None:
    """Boards opened recently are published again when they change, by two scheduler
    replicas, at most once per person per window of the shared clock: three requests between
    two ticks make one publish; a fourth within the window waits for the tick after it; a
    board that did not change (billing's viewer) is never published again."""
    sender, slack = home.sender, home.slack
    for user in (APPROVER, BILLING_VIEWER):
        sender.home_opened(user)
        board_of(slack, user)
    for name in ("orders-api", "refunds", "ledger"):
        sender.command(REQUESTER, f"pause {name} -p payments burst")
    channel_posts_with(slack, "asks to pause", 3)
    settings = replica_settings.model_copy(
        update={
            "redis_url": home.redis_url,
            "convoy_project_alias": "payments",
            "convoy_bot_secret_key": [SecretStr(home.secret_key)],
            "convoy_bot_home_refresh_seconds": REFRESH.total_seconds(),
        }
    )

    async def scenario() -> list[int]:
        counted = []
        async with replicas(settings) as group:
            for step, windows in enumerate((1, 1, 2, 3)):
                if step == 1:  # the fourth request, within the window of the last publish
                    sender.command(REQUESTER, "pause webhooks-eu -p payments burst")
                    channel_posts_with(slack, "asks to pause", 4)
                await group.tick_all(REFRESH * windows)
                counted.append(publishes(slack, APPROVER))
        return counted

    # Opened (1); the burst (2); the fourth waits (2); then shown (3); nothing new (3).
    assert asyncio.run(scenario()) == [2, 2, 3, 3]
    assert publishes(slack, BILLING_VIEWER) == 1
    assert "waiting for your decision* (4)" in json.dumps(board_of(slack, APPROVER)["blocks"])


def channel_posts_with(slack: FakeSlack, needle: str, count: int) -> None:
    def enough() -> bool:
        return len([c for c in slack.api_calls("chat.postMessage") if needle in c.text]) >= count

    eventually(enough, what=f"{count} posts with {needle!r}")
