"""What tests share: the test users, and reading what Slack received (replies, posts, buttons)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import redis

from bot import redis_keys
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import ADMIN, BotProcess, eventually
from tests.slack_requests import Sent, SlackSender

OPERATOR = "U0OPERATOR"
REQUESTER = "U0REQUESTER"
APPROVER = "U0APPROVER"
VIEWER = "U0VIEWER"


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as `convoy-bot audit --json` prints it for a SIEM."""

    entry_id: str
    time: str
    actor: str
    approver: str
    command: str
    outcome: str
    endpoint_uid: str
    endpoint_name: str
    project: str
    convoy_status: str
    reason: str
    detail: str


def reply_to(slack: FakeSlack, token: str, count: int = 1) -> list[str]:
    """Wait for `count` private replies to one command or click; return their texts."""

    def enough() -> list[SlackCall] | None:
        found = slack.replies(token)
        return found if len(found) >= count else None

    calls = eventually(enough, what=f"{count} reply(ies) on the response URL")
    return [call.text for call in calls]


def channel_posts(slack: FakeSlack, count: int = 1) -> list[SlackCall]:
    """Wait until the bot has sent at least `count` chat.postMessage calls; return them all."""

    def enough() -> list[SlackCall] | None:
        calls = slack.api_calls("chat.postMessage")
        return calls if len(calls) >= count else None

    return eventually(enough, what=f"{count} channel post(s)")


def post_with(slack: FakeSlack, needle: str) -> SlackCall:
    """Wait for the first chat.postMessage whose text contains `needle`."""

    def find() -> SlackCall | None:
        return next((c for c in slack.api_calls("chat.postMessage") if needle in c.text), None)

    return eventually(find, what=f"a channel post with {needle!r}")


# What the ack says when the bot is too busy to take a command on (handlers.work.BUSY).
BUSY = "is busy right now"


@contextmanager
def convoy_receives(convoy: FakeConvoy, operation: str, what: str) -> Iterator[None]:
    """Wait, once the block has run, until Convoy has one more `operation` request than it
    had before it: a request an earlier step made must not pass for the block's own."""

    def count() -> int:
        return sum(1 for r in convoy.requests if r.operation == operation)

    before = count()
    yield
    eventually(lambda: count() > before, what=what)


def find_button(call: SlackCall, action_id: str) -> dict[str, Any] | None:
    """The button with `action_id` in a posted message's blocks, if it has one."""
    for block in call.payload.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return dict(element)
    return None


def button(call: SlackCall, action_id: str) -> dict[str, Any]:
    """The button with `action_id` in a posted message; the test fails if there is none."""
    found = find_button(call, action_id)
    if found is None:
        raise AssertionError(f"no {action_id} button in {call.payload.get('blocks')}")
    return found


def buttons(call: SlackCall) -> list[dict[str, Any]]:
    """Every button of a message's one actions block."""
    (actions,) = [b for b in call.payload["blocks"] if b["type"] == "actions"]
    return [dict(element) for element in actions["elements"]]


def message(call: SlackCall) -> dict[str, Any]:
    """A posted message as Slack shows it in a click payload, with the ts Slack gave it."""
    return {"ts": call.answer["ts"], **call.payload}


def nothing_else_happened(convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender) -> None:
    """Only a probe sent now reaches Convoy and Slack: nothing sent before it did.

    The probe, a signed `/convoy status orders-api` (the endpoint must exist), starts the way a
    pause does (role check, then a Convoy search for the name). The bot takes requests in
    order, so once the probe is answered, a request sent before it that was wrongly acted on
    would have reached Convoy and Slack too.
    """
    probe = sender.command(ADMIN, "status orders-api")
    reply_to(slack, probe.token)
    assert [(r.operation, r.query.get("q")) for r in convoy.requests] == [("list", ["orders-api"])]
    # auth.test is Bolt asking Slack who the bot is, once, on the first request it serves.
    seen = [c for c in slack.calls if c.name != "auth.test"]
    assert [(c.kind, c.name) for c in seen] == [("response_url", probe.token)]


def metric(bot: BotProcess, name: str, **labels: str) -> float:
    """One sample of the bot's /metrics, whatever the order of its labels (0 if not counted)."""
    sample = re.compile(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$")
    for line in httpx.get(f"{bot.url}/metrics", timeout=5).text.splitlines():
        found = sample.match(line)
        if found and dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))) == labels:
            return float(found.group(2))
    return 0.0


def filled_form(slack: FakeSlack, fills: int = 1) -> dict[str, Any]:
    """The form the bot opened, as Slack shows it once the bot has filled it in `fills` times
    (views.update); the view Slack holds, to submit or to ask for options."""

    def filled() -> list[SlackCall] | None:
        calls = slack.api_calls("views.update")
        return calls if len(calls) >= fills else None

    eventually(filled, what=f"{fills} views.update call(s)")
    return slack.views()[-1]


def view_text(view: dict[str, Any]) -> str:
    """Every text a view shows, for assertions."""
    return json.dumps(view.get("blocks", []))


def form_of(slack: FakeSlack, sent: Sent) -> dict[str, Any]:
    """The form a command or click opened with its trigger id, as Slack holds it now."""

    def opened() -> str | None:
        for call in slack.api_calls("views.open"):
            if call.payload.get("trigger_id") == f"trigger-{sent.token}" and call.accepted:
                return str(call.answer["view"]["id"])
        return None

    view_id = eventually(opened, what="the form to open")
    return next(view for view in slack.views() if view["id"] == view_id)


def deny(
    sender: SlackSender, slack: FakeSlack, user_id: str, request: SlackCall, reason: str = ""
) -> Sent:
    """Click Deny on a posted request and send the form it opens, with `reason`: the click
    (its response URL gets the decider's replies)."""
    value = button(request, ids.DENY_BUTTON)["value"]
    click = sender.click(user_id, ids.DENY_BUTTON, value, message=message(request))
    sender.submit(user_id, form_of(slack, click), {ids.REASON_BLOCK: reason})
    return click


def across_shards(
    client: redis.Redis | redis.RedisCluster, index: Callable[[int], str]
) -> list[str]:
    """Every member of one kind of sharded index (a set or sorted set in each of
    bot.redis_keys.SHARDS shards: holds, timers, reminders, writes to settle), sorted."""
    found: list[str] = []
    for shard in range(redis_keys.SHARDS):
        key = index(shard)
        if client.type(key) == "set":
            found += [str(member) for member in client.smembers(key)]
        else:
            found += [str(member) for member in client.zrange(key, 0, -1)]
    return sorted(found)
