"""Whatever arrives, signed or not: no 500, no traceback, no write it did not earn."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.access.roles import Role
from handlers import ids
from handlers.parsing import parse
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import BotProcess, eventually
from tests.helpers import button, nothing_else_happened, reply_to
from tests.slack_requests import SlackSender, slack_signature

OPERATOR = "U0OPERATOR"


def test_malformed_payload_json_gets_400(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A signed interaction whose payload is not a JSON object is refused; nothing runs."""
    convoy.add_endpoint("orders-api")
    for payload in ("{not json", "[1, 2]", '"text"'):
        response = sender.post(urlencode({"payload": payload}).encode())
        assert response.status_code == 400
    nothing_else_happened(convoy, slack, sender)


def test_unknown_action_id_is_refused_clearly(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A button the bot never made gets a private 'not one this bot knows'."""
    grant(OPERATOR, Role.ADMIN)

    click = sender.click(OPERATOR, "convoy_delete_everything", "x")

    assert click.response.status_code == 200
    assert "not one this bot knows" in reply_to(slack, click.token)[0]
    assert convoy.requests == []


def test_tampered_button_values_are_not_trusted(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Made-up request ids, unknown uids and junk values change nothing."""
    grant(OPERATOR, Role.ADMIN)
    real = convoy.add_endpoint("orders-api", status="paused")

    made_up = sender.click(OPERATOR, ids.APPROVE_BUTTON, "no-such-request")
    ghost = sender.click(
        OPERATOR,
        ids.RESUME_BUTTON,
        json.dumps({"uid": "01HNOSUCHENDPOINT000000000", "hold": "a-pause-id"}),
    )
    junk = sender.click(OPERATOR, ids.RESUME_BUTTON, "{{{")
    pick = sender.click(OPERATOR, f"{ids.PICK_ENDPOINT}_0", f"forged:{real['uid']}")

    assert "no longer exists" in reply_to(slack, made_up.token)[0]
    assert "Convoy has no endpoint" in reply_to(slack, ghost.token)[0]
    assert "That button is damaged" in reply_to(slack, junk.token)[0]
    assert "already made or has expired" in reply_to(slack, pick.token)[0]
    assert convoy.writes() == []


def test_button_value_grants_no_authority(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """Another request's id in a viewer's click is still a viewer's click."""
    grant("U0REQUESTER", Role.REQUESTER)
    grant("U0VIEWER", Role.VIEWER)
    convoy.add_endpoint("orders-api")
    sender.command("U0REQUESTER", "pause orders-api")
    post = eventually(lambda: slack.api_calls("chat.postMessage"), what="the request")[0]
    request_id = button(post, ids.APPROVE_BUTTON)["value"]

    click = sender.click("U0VIEWER", ids.APPROVE_BUTTON, request_id)

    assert "needs the *approver* role" in reply_to(slack, click.token)[0]
    assert convoy.writes() == []


FIXED_UID = "01HABUSEENDPOINT0000000000"


def _told(slack: FakeSlack, token: str) -> str:
    """What one command told its caller, privately: a reply, or (for `pause` or `resume`
    alone) the form it opened, once filled in. The examples share one fake Slack."""

    def told() -> str | None:
        replies = slack.replies(token)
        if replies:
            return replies[0].text
        for opened in slack.api_calls("views.open"):
            if opened.payload.get("trigger_id") == f"trigger-{token}" and opened.accepted:
                view_id = opened.answer["view"]["id"]
                filled = [
                    c for c in slack.api_calls("views.update") if c.payload["view_id"] == view_id
                ]
                return json.dumps(filled[0].payload["view"]) if filled else None
        return None

    return eventually(told, what="a private reply or a form")


def _ensure_endpoint(convoy: FakeConvoy) -> None:
    """One endpoint for every example (hypothesis runs them all in one fixture scope)."""
    with contextlib.suppress(ValueError):
        convoy.add_endpoint("orders-api", uid=FIXED_UID)


ANY_TEXT = st.text(
    st.characters(blacklist_categories=["Cs"]),
    max_size=200,
) | st.sampled_from(
    [
        "pause",
        'pause "',
        "pause orders-api",
        "resume orders-api",
        "roles grant <@U0X> admin",
        "audit --limit 0",
        "list %00",
        "status <!channel>",
    ]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=ANY_TEXT)
def test_arbitrary_text_never_breaks_the_bot(
    text: str,
    bot: BotProcess,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
) -> None:
    """Any text from a viewer: a 200, a private answer, no traceback, no Convoy write."""
    grant("U0VIEWER", Role.VIEWER)
    _ensure_endpoint(convoy)
    writes_before = len(convoy.writes())
    token = uuid.uuid4().hex
    body = sender.command_body("U0VIEWER", text, "C0INCIDENT", token)
    stamp = str(int(time.time()))

    response = sender.post(
        body, timestamp=stamp, signature=slack_signature(sender.signing_secret, stamp, body)
    )

    assert response.status_code == 200
    said = _told(slack, token)
    assert "Traceback" not in said
    assert {c.payload["response_type"] for c in slack.replies(token)} <= {"ephemeral"}
    assert len(convoy.writes()) == writes_before
    assert slack.api_calls("chat.postMessage") == [], "a viewer never makes the bot post"
    assert "Traceback" not in bot.log()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=ANY_TEXT.filter(lambda t: not (parse(t).verb in ("pause", "resume") and parse(t).valid))
)
def test_operator_text_that_is_not_a_change_writes_nothing(
    text: str,
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    grant: Callable[..., None],
) -> None:
    """From an operator, any text that does not parse as a pause or resume changes nothing."""
    grant(OPERATOR, Role.OPERATOR)
    _ensure_endpoint(convoy)
    token = uuid.uuid4().hex
    body = sender.command_body(OPERATOR, text, "C0INCIDENT", token)

    response = sender.post(body)

    assert response.status_code == 200
    assert "Traceback" not in _told(slack, token)
    assert {c.payload["response_type"] for c in slack.replies(token)} <= {"ephemeral"}
    assert convoy.writes() == []
    assert slack.api_calls("chat.postMessage") == []
    assert convoy.endpoint(FIXED_UID)["status"] == "active"


def test_forged_forms_and_menus_grant_nothing(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """A form whose private metadata is not the bot's is refused in the form; a view that is
    not one is a malformed body; the endpoint menu offers nothing to someone without a role;
    nothing reaches Convoy."""
    grant(OPERATOR, Role.OPERATOR)
    convoy.add_endpoint("orders-api")
    forged = {**_menu_view(), "private_metadata": "{{{"}

    damaged = sender.submit(OPERATOR, forged, {})
    denial = sender.submit(OPERATOR, {**forged, "callback_id": ids.DENY_FORM}, {})
    shapeless = sender.submit(OPERATOR, {"callback_id": ids.CHANGE_FORM}, {})
    menu = sender.suggest("U0NOBODY", _menu_view(), ids.ENDPOINT_BLOCK, "orders")

    assert damaged.response.json() == {
        "response_action": "errors",
        "errors": {
            ids.ENDPOINT_BLOCK: "This form is damaged; run `/convoy pause <endpoint>` instead."
        },
    }
    assert denial.response.json()["errors"] == {
        ids.REASON_BLOCK: "This form is damaged; click *Deny* on the request again."
    }
    assert shapeless.response.status_code == 400
    assert menu == {"options": []}
    assert convoy.requests == []
    assert slack.api_calls("chat.postMessage") == []


def _menu_view() -> dict[str, object]:
    """A view with the bot's endpoint menu, as a forged options request would name it."""
    menu = {"type": "external_select", "action_id": ids.ENDPOINT_MENU}
    block = {"type": "input", "block_id": ids.ENDPOINT_BLOCK, "element": menu}
    return {"id": "V0FORGED", "type": "modal", "callback_id": ids.CHANGE_FORM, "blocks": [block]}
