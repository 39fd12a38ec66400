"""A chaos run: mixed commands and clicks while Convoy and Slack fail at random.

Afterwards every endpoint's state at Convoy matches the last status the bot reported for it,
no command or click sent more than one write, and the audit trail has one entry per action.
`make chaos` runs it long (CHAOS_ACTIONS=400); the default run is a short variant.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import BotProcess, eventually
from tests.helpers import AuditRecord, find_button, message
from tests.slack_requests import SlackSender

OPERATOR = "U0CHAOS"
ACTIONS = int(os.environ.get("CHAOS_ACTIONS", "40"))
SEED = int(os.environ.get("CHAOS_SEED", "20261126"))

# What the bot says, and the status it says the endpoint now has.
REPORTED_STATUS = [
    (re.compile(r"New status: (\w+)"), None),
    (re.compile(r"is already paused"), "paused"),
    (re.compile(r"is already active"), "active"),
    (re.compile(r"status read back from Convoy: (\w+)"), None),
    (re.compile(r"is now \*(\w+)\*, not what was asked"), None),
    (re.compile(r"is \*inactive\*"), "inactive"),
]


@dataclass
class Report:
    """What one action produced: its private replies and channel posts."""

    texts: list[str]

    def status(self) -> str | None:
        """The endpoint status the bot reported, if it reported one."""
        for text in self.texts:
            if "could not be confirmed" in text:
                return "unknown"
            for pattern, fixed in REPORTED_STATUS:
                match = pattern.search(text)
                if match:
                    return fixed or match.group(1)
        return None


def _inject_faults(rng: random.Random, convoy: FakeConvoy, slack: FakeSlack) -> None:
    convoy.clear_faults()
    slack.reset()
    roll = rng.random()
    operation = rng.choice(["get", "pause", "activate"])
    if roll < 0.15:
        convoy.set_fault(operation, status=rng.choice([500, 502, 503, 429]), times=1)
    elif roll < 0.25:
        convoy.set_fault(rng.choice(["pause", "activate"]), malformed_json=True, times=1)
    elif roll < 0.30:
        # Applied, then too slow to answer: the bot must read back, never write again.
        convoy.set_fault(rng.choice(["pause", "activate"]), delay=0.5, times=1)
    elif roll < 0.35:
        convoy.set_fault("get", delay=0.5, times=1)
    if rng.random() < 0.1:
        slack.fail_method("chat.postMessage", "not_in_channel")


def _wait_report(slack: FakeSlack, token: str) -> Report:
    """The action is over when a private reply or a channel post about it arrived."""

    def finished() -> Report | None:
        replies = [c.text for c in slack.replies(token)]
        posts = [c.text for c in slack.api_calls("chat.postMessage") if c.answer.get("ok")]
        texts = replies + posts
        return Report(texts) if texts else None

    return eventually(finished, timeout=15, what="the action's report")


@pytest.mark.chaos
def test_chaos_run_keeps_reports_true(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
    grant: Callable[..., None],
    audit_entries: Callable[..., list[AuditRecord]],
) -> None:
    """Random faults never make the bot's last word on an endpoint differ from Convoy's state."""
    rng = random.Random(SEED)
    bot = bot_factory(CONVOY_TIMEOUT_SECONDS="0.3", CONVOY_BOT_CHANGES_PER_MINUTE="0")
    sender = sender_to(bot)
    grant(OPERATOR, Role.OPERATOR)
    uids = [str(convoy.add_endpoint(f"chaos-{n}")["uid"]) for n in range(4)]
    uids.append(str(convoy.add_endpoint("chaos-disabled", status="inactive")["uid"]))
    expected = {uid: convoy.endpoint(uid)["status"] for uid in uids}
    buttons: dict[str, tuple[str, dict[str, object]]] = {}
    actions = 0

    for _ in range(ACTIONS):
        uid = rng.choice(uids)
        _inject_faults(rng, convoy, slack)
        writes_before = len(convoy.writes())
        if uid in buttons and rng.random() < 0.3:
            button_value, clicked = buttons.pop(uid)
            token = sender.click(OPERATOR, ids.RESUME_BUTTON, button_value, message=clicked).token
        else:
            verb = rng.choice(["pause", "resume"])
            token = sender.command(OPERATOR, f"{verb} {uid} chaos").token
        actions += 1
        report = _wait_report(slack, token)

        assert len(convoy.writes()) - writes_before <= 1, "a toggle was sent twice"
        reported = report.status()
        if reported is not None:
            expected[uid] = reported
        for post in slack.api_calls("chat.postMessage"):
            resume = find_button(post, ids.RESUME_BUTTON)
            if resume and post.answer.get("ok"):
                buttons[uid] = (str(resume["value"]), message(post))

    convoy.clear_faults()
    print(f"chaos: {actions} actions, {len(convoy.writes())} writes, statuses {expected}")  # noqa: T201
    assert len(convoy.writes()) > actions // 4, "the run hardly changed anything"
    for uid in uids:
        if expected[uid] != "unknown":
            assert convoy.endpoint(uid)["status"] == expected[uid], uid
    changes = [
        e
        for e in audit_entries(limit=10 * ACTIONS)
        if e.command in ("pause", "resume", "resume button")
    ]
    assert len(changes) == actions
    assert convoy.contract_errors == []
