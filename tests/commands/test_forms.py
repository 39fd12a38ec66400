"""The pause and resume form: `/convoy pause` alone, or the message shortcut, opens it; its
endpoint menu searches Convoy as the user types (answered within Slack's 3 s whatever Convoy
does); submitting it makes the same change, with the same checks and the same messages, as
the command."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import eventually
from tests.helpers import (
    REQUESTER,
    VIEWER,
    channel_posts,
    filled_form,
    reply_to,
    view_text,
)
from tests.slack_requests import SlackSender


def _option(options: dict[str, Any], label: str) -> dict[str, Any]:
    """The option with this label in an options answer."""
    found = [o for o in options["options"] if o["text"]["text"] == label]
    assert found, f"no option {label!r} in {options}"
    return dict(found[0])


def _told(call: SlackCall, endpoint: dict[str, Any]) -> str:
    """A message with what differs between two endpoints and two moments taken out."""
    told = json.dumps(call.payload.get("blocks", [])) + call.payload.get("text", "")
    told = told.replace(endpoint["name"], "NAME").replace(endpoint["uid"], "UID")
    told = re.sub(r"<!date\^\d+\^[^|]*\|[^>]*>|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", "TIME", told)
    told = re.sub(r"in \d+m( \d+s)?", "in N", told)
    return re.sub(r'\\"value\\": \\"(?:[^"\\]|\\.)*?\\"|"value": "(?:[^"\\]|\\.)*"', "V", told)


def test_the_form_pauses_exactly_as_the_command_does(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """`/convoy pause` alone opens the form; its menu offers the endpoints matching what is
    typed; submitting sends one PUT and posts what the command posts, to the channel and the
    webhook, with the same private note."""
    by_command = convoy.add_endpoint("billing-api", slack_webhook_url=slack.hook())
    by_form = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    convoy.add_endpoint("orders-api-staging")
    command = sender.command(operator, "pause billing-api for 30m bad payloads since 02:10")
    channel_posts(slack)

    opening = sender.command(operator, "pause")
    form = filled_form(slack)
    options = sender.suggest(operator, form, ids.ENDPOINT_BLOCK, "orders")
    answers = {
        ids.ENDPOINT_BLOCK: _option(options, "orders-api (active)"),
        ids.REASON_BLOCK: "bad payloads since 02:10",
        ids.DURATION_BLOCK: "30m",
    }
    submitted = sender.submit(operator, form, answers)

    assert opening.response.text == "", "no message: the form opens instead"
    (opened,) = slack.api_calls("views.open")
    assert opened.payload["trigger_id"] == f"trigger-{opening.token}"
    assert "Loading" in view_text(opened.payload["view"])
    assert [o["text"]["text"] for o in options["options"]] == [
        "orders-api (active)",
        "orders-api-staging (active)",
    ]
    assert (submitted.response.status_code, submitted.response.text) == (200, "")
    posts = channel_posts(slack, 2)
    assert [w.endpoint_uid for w in convoy.writes()] == [by_command["uid"], by_form["uid"]]
    assert [w.operation for w in convoy.writes()] == ["pause", "pause"]
    assert _told(posts[1], by_form) == _told(posts[0], by_command)
    hooks = eventually(lambda: slack.webhooks()[1:] and slack.webhooks(), what="two webhooks")
    assert _told(hooks[1], by_form) == _told(hooks[0], by_command)
    (note,) = slack.replies(opening.token)
    assert note.payload["text"] == command.response.json()["text"].replace("billing", "orders")
    assert note.payload["text"] == ":hourglass_flowing_sand: Pausing *orders-api*…"


def test_a_requester_s_form_asks_an_approver(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A requester's submitted form posts the approval request in the channel where they
    ran the command and tells them privately, as the command does; Convoy is not written."""
    grant(REQUESTER, Role.REQUESTER)
    convoy.add_endpoint("orders-api")

    opening = sender.command(REQUESTER, "pause")
    form = filled_form(slack)
    option = sender.suggest(REQUESTER, form, ids.ENDPOINT_BLOCK, "")["options"][0]
    sender.submit(REQUESTER, form, {ids.ENDPOINT_BLOCK: option, ids.REASON_BLOCK: "retries"})

    request = channel_posts(slack)[0]
    assert request.payload["channel"] == "C0INCIDENT"
    assert "<@U0REQUESTER> asks to *pause* *orders-api*" in request.text
    assert "*Reason:* retries" in request.text
    replies = reply_to(slack, opening.token, 2)
    assert "is posted in this channel" in replies[1]
    assert convoy.writes() == []


def test_the_resume_form_resumes_and_asks_no_duration(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """`/convoy resume` alone opens the resume form, without a duration; submitting it
    activates the paused endpoint (never the toggle)."""
    endpoint = convoy.add_endpoint("orders-api", status="paused")

    sender.command(operator, "resume")
    form = filled_form(slack)
    option = sender.suggest(operator, form, ids.ENDPOINT_BLOCK, "orders")["options"][0]
    sender.submit(operator, form, {ids.ENDPOINT_BLOCK: option})

    post = channel_posts(slack)[0]
    assert form["title"]["text"] == "Resume an endpoint"
    assert ids.DURATION_BLOCK not in [b.get("block_id") for b in form["blocks"]]
    assert option["text"]["text"] == "orders-api (paused)"
    assert "was *resumed* by <@U0OPERATOR>" in post.text
    assert [w.operation for w in convoy.writes()] == ["activate"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


def test_fields_that_cannot_be_used_are_said_in_the_form(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """No endpoint, a duration not understood, or one over the maximum: the form stays open
    with the problem beside its field, and nothing reaches Convoy or the channel."""
    convoy.add_endpoint("orders-api")
    sender.command(operator, "pause")
    form = filled_form(slack)
    option = sender.suggest(operator, form, ids.ENDPOINT_BLOCK, "orders")["options"][0]

    unpicked = sender.submit(operator, form, {ids.REASON_BLOCK: "x"})
    vague = sender.submit(operator, form, {ids.ENDPOINT_BLOCK: option, ids.DURATION_BLOCK: "30"})
    too_long = sender.submit(
        operator, form, {ids.ENDPOINT_BLOCK: option, ids.DURATION_BLOCK: "25h"}
    )
    huge = sender.submit(
        operator, form, {ids.ENDPOINT_BLOCK: option, ids.DURATION_BLOCK: "1000000000d"}
    )

    assert unpicked.response.json() == {
        "response_action": "errors",
        "errors": {ids.ENDPOINT_BLOCK: "Pick the endpoint."},
    }
    assert vague.response.json()["errors"] == {
        ids.DURATION_BLOCK: (
            '"30" is not a duration I understand. Durations look like 30m, 30 minutes, 1h or 1h30m.'
        )
    }
    for refused in (too_long, huge):  # issue 21 item 6: however large the number
        assert refused.response.json()["errors"] == {
            ids.DURATION_BLOCK: "A timed pause can last at most 24h."
        }
    assert [r.operation for r in convoy.requests] == ["list"], "only the menu's search"
    assert slack.api_calls("chat.postMessage") == []


@pytest.mark.usefixtures("team")
def test_a_viewer_gets_the_refusal_in_the_form(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Someone who may not even ask for a pause sees why in the form, with nothing to
    submit; Convoy is not asked anything."""
    convoy.add_endpoint("orders-api")

    sender.command(VIEWER, "pause")

    form = filled_form(slack)
    assert "`pause` needs the *requester* role" in view_text(form)
    assert "submit" not in form
    assert convoy.requests == []


def test_a_form_slack_would_not_open_is_said_privately(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """A command that reached the bot after its trigger expired: Slack opens no form, and
    the caller is told privately to try again or type the command; nothing changes."""
    convoy.add_endpoint("orders-api")
    slack.age_triggers(3.5)

    opening = sender.command(operator, "pause")

    (reply,) = reply_to(slack, opening.token)
    assert "Slack did not open the form (expired_trigger_id)" in reply
    assert "`/convoy pause <endpoint> [for 30m] [reason…]`" in reply
    assert slack.views() == []
    assert slack.api_calls("views.update") == []
    assert convoy.requests == []


def test_the_menu_answers_in_time_while_convoy_is_slow(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """While Convoy holds the search, the menu is answered anyway (its deadline is well
    under Slack's 3 s): with nothing, or with the endpoint a typed uid names, never an error."""
    endpoint = convoy.add_endpoint("orders-api")
    sender.command(operator, "pause")
    form = filled_form(slack)
    gate = threading.Event()
    convoy.set_fault("list", meanwhile=gate.wait)
    try:
        empty = sender.suggest(operator, form, ids.ENDPOINT_BLOCK, "orders")
        partial = sender.suggest(operator, form, ids.ENDPOINT_BLOCK, endpoint["uid"])
        held = [r.operation for r in convoy.requests]
    finally:
        gate.set()

    assert empty == {"options": []}
    assert [o["value"] for o in partial["options"]] == [endpoint["uid"]]
    assert sorted(held) == ["get", "list", "list"], "the searches were at Convoy when answered"


def test_the_menu_offers_at_most_a_hundred_endpoints_with_long_names_cut(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Of 250 matching endpoints with 300-character names, 100 options within Slack's
    limits (labels cut, the status kept), the exact name first."""
    for number in range(250):
        convoy.add_endpoint(f"orders-{number:03d}-" + "n" * 300)
    exact = convoy.add_endpoint("orders")
    sender.command(operator, "pause")
    form = filled_form(slack)

    options = sender.suggest(operator, form, ids.ENDPOINT_BLOCK, "orders")["options"]

    assert len(options) == 100
    assert options[0] == {
        "text": {"type": "plain_text", "text": "orders (active)"},
        "value": exact["uid"],
    }
    assert options[1]["text"]["text"].endswith("nnn… (active)")
    assert len(options[1]["text"]["text"]) == 75


NAMED = ["orders", "orders-api", "orders-api-staging", "billing", "payments", "payments"]


@pytest.mark.parametrize(
    ("said", "chosen"),
    [
        ("orders-api answers 500s since 02:10, can someone pause it?", "orders-api"),
        ("Is ORDERS-API-STAGING flapping again?", "orders-api-staging"),
        ("see endpoint {billing} in Convoy", "billing"),
        ("payments is down", ""),  # two endpoints have that name: no guess
        ("the receiver is down", ""),
    ],
    ids=["name", "longest name, any case", "uid", "two of that name", "none named"],
)
def test_the_shortcut_opens_the_pause_form_with_the_named_endpoint(
    said: str,
    chosen: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    operator: str,
) -> None:
    """ "Pause a Convoy endpoint" on a message opens the pause form with the endpoint the
    message names already chosen (a uid, or the longest endpoint name in it as a word); when
    it names none, or two equally, the form says so and nothing is chosen."""
    endpoints = {e["name"]: e for e in (convoy.add_endpoint(name) for name in NAMED)}
    said = said.format(billing=endpoints["billing"]["uid"])
    message = {"type": "message", "user": "U0ALICE", "ts": "1700000000.000100", "text": said}

    sender.shortcut(operator, ids.PAUSE_SHORTCUT, message)

    form = filled_form(slack)
    (menu,) = [b["element"] for b in form["blocks"] if b.get("block_id") == ids.ENDPOINT_BLOCK]
    assert form["title"]["text"] == "Pause an endpoint"
    if chosen:
        assert menu["initial_option"] == {
            "text": {"type": "plain_text", "text": f"{chosen} (active)"},
            "value": endpoints[chosen]["uid"],
        }
        assert "names no endpoint" not in view_text(form)
    else:
        assert "initial_option" not in menu
        assert "That message names no endpoint I could find; pick one." in view_text(form)
    assert convoy.writes() == []


def test_the_shortcut_s_form_pauses_in_the_message_s_channel(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Sent as it opened, the shortcut's form pauses the endpoint the message named, and the
    announcement goes to the channel the message is in."""
    slack.add_channel("C0ALERTS")
    endpoint = convoy.add_endpoint("orders-api")
    message = {"type": "message", "ts": "1700000000.000100", "text": "orders-api is failing"}

    shortcut = sender.shortcut(operator, ids.PAUSE_SHORTCUT, message, channel_id="C0ALERTS")
    form = filled_form(slack)
    sender.submit(operator, form, {ids.REASON_BLOCK: "alert fired"})

    post = channel_posts(slack)[0]
    assert post.payload["channel"] == "C0ALERTS"
    assert "was *paused* by <@U0OPERATOR>" in post.text
    assert "*Reason:* alert fired" in post.text
    assert [w.endpoint_uid for w in convoy.writes()] == [endpoint["uid"]]
    assert "Pausing *orders-api*" in reply_to(slack, shortcut.token)[0]
