"""A chaos run: mixed commands and clicks while Convoy and Slack fail at random.

Afterwards every endpoint's state at Convoy matches the last status the bot reported for it,
no command or click sent more than one write, and the audit trail has one entry per action.
When the bot says it could not confirm the status, the test asks `/convoy status` (with no
fault) as a user would, and takes that answer, read from Convoy, as the bot's last word.
`make chaos` runs it long (CHAOS_ACTIONS=400); the default run is a short variant. Each run
draws a new seed, shown in pytest's header; CHAOS_SEED=<n> replays one.
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
from tests.helpers import AuditRecord, find_button, message, reply_to
from tests.slack_requests import SlackSender

OPERATOR = "U0CHAOS"
ACTIONS = int(os.environ.get("CHAOS_ACTIONS", "40"))
STATUS_REPLY = re.compile(r"\(`\w+`\) is \*(\w+)\*")

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
        slack.remove_bot()


def _wait_report(slack: FakeSlack, token: str) -> Report:
    """The action is over when a private reply or a channel post about it arrived."""

    def finished() -> Report | None:
        replies = [c.text for c in slack.replies(token)]
        posts = [c.text for c in slack.api_calls("chat.postMessage") if c.answer.get("ok")]
        texts = replies + posts
        return Report(texts) if texts else None

    return eventually(finished, timeout=15, what="the action's report")


def _status_read_from_convoy(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, uid: str
) -> str:
    """What `/convoy status` says, with no fault, about an endpoint the bot was unsure of."""
    convoy.clear_faults()
    slack.reset()
    said = reply_to(slack, sender.command(OPERATOR, f"status {uid}").token)[0]
    found = STATUS_REPLY.search(said)
    assert found, said
    return found.group(1)


@pytest.mark.chaos
def test_chaos_run_keeps_reports_true(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    convoy: FakeConvoy,
    slack: FakeSlack,
    grant: Callable[..., None],
    audit_entries: Callable[..., list[AuditRecord]],
    chaos_seed: int,
) -> None:
    """Random faults never make the bot's last word on an endpoint differ from Convoy's state."""
    replay = f"replay with CHAOS_SEED={chaos_seed}"
    print(f"chaos seed: {chaos_seed} ({replay})")  # noqa: T201  # shown when the test fails
    rng = random.Random(chaos_seed)
    bot = bot_factory(CONVOY_TIMEOUT_SECONDS="0.3", CONVOY_BOT_CHANGES_PER_MINUTE="0")
    sender = sender_to(bot)
    grant(OPERATOR, Role.OPERATOR)
    uids = [str(convoy.add_endpoint(f"chaos-{n}")["uid"]) for n in range(4)]
    uids.append(str(convoy.add_endpoint("chaos-disabled", status="inactive")["uid"]))
    expected = {uid: convoy.endpoint(uid)["status"] for uid in uids}
    buttons: dict[str, tuple[str, dict[str, object]]] = {}
    actions = resolved = 0

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

        assert len(convoy.writes()) - writes_before <= 1, f"a toggle was sent twice; {replay}"
        for post in slack.api_calls("chat.postMessage"):
            resume = find_button(post, ids.RESUME_BUTTON)
            if resume and post.answer.get("ok"):
                buttons[uid] = (str(resume["value"]), message(post))
        reported = report.status()
        if reported == "unknown":
            reported = _status_read_from_convoy(convoy, slack, sender, uid)
            resolved += 1
        if reported is not None:
            expected[uid] = reported

    convoy.clear_faults()
    print(  # noqa: T201
        f"chaos: {actions} actions, {len(convoy.writes())} writes, {resolved} unconfirmed "
        f"statuses read back, statuses {expected}"
    )
    assert len(convoy.writes()) > actions // 4, f"the run hardly changed anything; {replay}"
    for uid in uids:
        assert convoy.endpoint(uid)["status"] == expected[uid], f"{uid}; {replay}"
    changes = [
        e
        for e in audit_entries(limit=10 * ACTIONS)
        if e.command in ("pause", "resume", "resume button")
    ]
    assert len(changes) == actions, replay
    assert convoy.contract_errors == []
