"""What tests share: the test users, and reading what Slack received (replies, posts, buttons)."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import eventually

OPERATOR = "U0OPERATOR"
REQUESTER = "U0REQUESTER"
APPROVER = "U0APPROVER"
VIEWER = "U0VIEWER"


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
