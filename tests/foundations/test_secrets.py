"""No secret from Convoy's endpoint object, nor a webhook URL, reaches Slack or the logs."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import BotProcess, eventually
from tests.helpers import AuditRecord, button, message, reply_to
from tests.slack_requests import SlackSender

MARKER = "zz-secret-marker-7f3a"
OPERATOR = "U0OPERATOR"


def test_no_secret_leaks_through_any_command(
    bot: BotProcess,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
    audit_entries: Callable[..., list[AuditRecord]],
) -> None:
    """Every command path runs against an endpoint full of markers; no marker comes out."""
    hook = slack.hook(f"T0EXAMPLE/B0ORDERS/{MARKER}-hook")
    receiver = f"https://receiver.example.com/{MARKER}-path?token={MARKER}-query"
    endpoint = convoy.add_endpoint(
        "orders-api", slack_webhook_url=hook, url=receiver, secret_marker=MARKER
    )
    convoy.add_endpoint("orders-api-two", secret_marker=MARKER, url=receiver)
    grant(OPERATOR, Role.OPERATOR)
    grant("U0VIEWER", Role.VIEWER)
    grant("U0REQUESTER", Role.REQUESTER)
    grant("U0APPROVER", Role.APPROVER)

    tokens = [
        sender.command(OPERATOR, text).token
        for text in ("help", "list", "status orders-api", "status orders", "frobnicate")
    ]
    tokens.append(sender.command("U0VIEWER", "pause orders-api").token)
    for token in tokens:
        reply_to(slack, token)
    sender.command(OPERATOR, "pause orders-api leaking?")
    post = eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause post")[0]
    resume = button(post, ids.RESUME_BUTTON)["value"]
    sender.click(OPERATOR, ids.RESUME_BUTTON, resume, message=message(post))
    eventually(lambda: slack.api_calls("chat.update"), what="the resume update")
    sender.command("U0REQUESTER", "pause orders-api")

    def third_post() -> SlackCall | None:
        posts = slack.api_calls("chat.postMessage")
        return posts[2] if len(posts) >= 3 else None

    request = eventually(third_post, what="the approval request")
    approve = sender.click(
        "U0APPROVER",
        ids.APPROVE_BUTTON,
        button(request, ids.APPROVE_BUTTON)["value"],
        message=message(request),
    )
    reply_to(slack, approve.token)
    reply_to(slack, sender.command("U0VIEWER", "audit orders-api").token)
    convoy.set_fault("get", status=500)
    failing = sender.command(OPERATOR, f"pause {endpoint['uid']}")
    reply_to(slack, failing.token)
    convoy.set_fault("get", malformed_json=True)
    garbled = sender.command(OPERATOR, f"status {endpoint['uid']}")
    reply_to(slack, garbled.token)
    metrics = httpx.get(f"{bot.url}/metrics").text
    ready = httpx.get(f"{bot.url}/readyz").text

    assert len(slack.webhooks()) == 3, "the webhook itself was called (its URL is the secret)"
    said = json.dumps([c.payload for c in slack.calls if c.kind != "webhook"])
    assert "orders-api" in said
    assert MARKER not in said
    assert "receiver.example.com" in said, "status shows the receiver's host"
    log = [json.loads(line) for line in bot.log().splitlines()]  # JSON: one object a line
    assert MARKER not in json.dumps(log, ensure_ascii=False)
    assert MARKER not in bot.log()
    assert "Traceback" not in bot.log()
    assert any(entry.get("command") == "pause" for entry in log), "the log has the requests"
    assert MARKER not in metrics + ready
    entries = audit_entries()
    assert [(e.actor, e.command, e.outcome) for e in entries] == [
        (OPERATOR, "pause", "failed"),
        ("U0REQUESTER", "pause (approve)", "approved: paused"),
        ("U0REQUESTER", "pause", "approval requested"),
        (OPERATOR, "resume button", "resumed"),
        (OPERATOR, "pause", "paused"),
        ("U0VIEWER", "pause", "refused"),
    ], "one entry per change, refusal and failure; reads are not recorded"
    assert MARKER not in repr(entries)
