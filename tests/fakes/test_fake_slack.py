"""The fake Slack refuses what Slack refuses: tokens, channels, messages, used response URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

TOKEN = "xoxb-fake-slack-own-token"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeSlack, LoopbackServer]]:
    fake = FakeSlack(bot_token=TOKEN)
    server = LoopbackServer(fake.app).start()
    fake.url = server.url
    yield fake, server
    server.stop()
    # As in test_fake_convoy.py: the loop is closed here so no ResourceWarning fails the run.
    server._loop.close()


@pytest.fixture
def fake(served: tuple[FakeSlack, LoopbackServer]) -> FakeSlack:
    served[0].reset()
    return served[0]


@pytest.fixture
def api(served: tuple[FakeSlack, LoopbackServer]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{served[1].url}/api/",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5.0,
    ) as http:
        yield http


def call(api: httpx.Client, method: str, **arguments: Any) -> dict[str, Any]:
    response = api.post(method, json=arguments)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def test_web_api_calls_need_the_bot_token(fake: FakeSlack, api: httpx.Client) -> None:
    """No token: `not_authed`; another: `invalid_auth`; the bot's, in a header or form: ok."""
    message = {"channel": "C0INCIDENT", "text": "hi"}

    missing = api.post("chat.postMessage", json=message, headers={"Authorization": ""})
    other = api.post(
        "chat.postMessage", json=message, headers={"Authorization": "Bearer xoxb-other"}
    )
    in_form = api.post(
        "chat.postMessage", data={**message, "token": TOKEN}, headers={"Authorization": ""}
    )

    assert missing.json() == {"ok": False, "error": "not_authed"}
    assert other.json() == {"ok": False, "error": "invalid_auth"}
    assert in_form.json()["ok"] is True
    assert call(api, "auth.test")["user_id"] == FakeSlack.BOT_USER
    assert [c.accepted for c in fake.api_calls("chat.postMessage")] == [False, False, True]


def test_posts_go_only_where_the_bot_is_a_member(fake: FakeSlack, api: httpx.Client) -> None:
    """Unknown channel: `channel_not_found`; the bot removed: `not_in_channel`; a user id: a DM."""
    fake.add_channel("C0QUIET", bot_member=False)

    unknown = call(api, "chat.postMessage", channel="C0NOWHERE", text="hi")
    not_member = call(api, "chat.postMessage", channel="C0QUIET", text="hi")
    direct = call(api, "chat.postMessage", channel="U0ALICE", text="hi")
    fake.remove_bot("C0INCIDENT")
    removed = call(api, "chat.postMessage", channel="C0INCIDENT", text="hi")

    assert unknown == {"ok": False, "error": "channel_not_found"}
    assert not_member == {"ok": False, "error": "not_in_channel"}
    assert (direct["ok"], direct["channel"]) == (True, "D0ALICE")
    assert removed == {"ok": False, "error": "not_in_channel"}


def test_update_needs_a_message_the_bot_posted_in_that_channel(
    fake: FakeSlack, api: httpx.Client
) -> None:
    """chat.update of the bot's own message works; another ts or channel, or a deleted message,
    is `message_not_found`."""
    fake.add_channel("C0OTHER")
    posted = call(api, "chat.postMessage", channel="C0INCIDENT", text="hi")

    updated = call(api, "chat.update", channel="C0INCIDENT", ts=posted["ts"], text="edited")
    made_up = call(api, "chat.update", channel="C0INCIDENT", ts="1.000100", text="edited")
    elsewhere = call(api, "chat.update", channel="C0OTHER", ts=posted["ts"], text="edited")
    fake.remove_bot("C0INCIDENT")
    left = call(api, "chat.update", channel="C0INCIDENT", ts=posted["ts"], text="edited")

    assert (updated["ok"], updated["ts"]) == (True, posted["ts"])
    assert made_up == elsewhere == {"ok": False, "error": "message_not_found"}
    assert left == {"ok": False, "error": "not_in_channel"}
    fake.reset()
    fake.delete_message("C0INCIDENT", posted["ts"])
    deleted = call(api, "chat.update", channel="C0INCIDENT", ts=posted["ts"], text="edited")
    assert deleted == {"ok": False, "error": "message_not_found"}


def test_ephemeral_messages_reach_only_users_in_the_channel(
    fake: FakeSlack, api: httpx.Client
) -> None:
    """chat.postEphemeral to a member works; to a user not in the channel: `user_not_in_channel`."""
    fake.remove_user("U0GONE")
    fake.add_channel("C0SMALL", members=["U0ALICE"])

    member = call(api, "chat.postEphemeral", channel="C0INCIDENT", user="U0ALICE", text="hi")
    gone = call(api, "chat.postEphemeral", channel="C0INCIDENT", user="U0GONE", text="hi")
    outsider = call(api, "chat.postEphemeral", channel="C0SMALL", user="U0BOB", text="hi")
    unknown = call(api, "chat.postEphemeral", channel="C0NOWHERE", user="U0ALICE", text="hi")

    assert member["ok"] is True
    assert gone == outsider == {"ok": False, "error": "user_not_in_channel"}
    assert unknown == {"ok": False, "error": "channel_not_found"}


def test_a_response_url_takes_five_posts(fake: FakeSlack) -> None:
    """The sixth post to one response URL is refused with HTTP 404 `used_url` and not shown."""
    url = fake.issue_response_url("five-times")

    answers = [httpx.post(url, json={"text": f"reply {n}"}) for n in range(6)]

    assert [a.status_code for a in answers] == [200] * 5 + [404]
    assert answers[-1].text == "used_url"
    assert [c.payload["text"] for c in fake.replies("five-times")] == [
        f"reply {n}" for n in range(5)
    ]
    assert [c.payload["text"] for c in fake.refused_replies("five-times")] == ["reply 5"]


def test_a_response_url_expires_after_thirty_minutes(fake: FakeSlack) -> None:
    """Within 30 minutes of being issued a response URL works; after, it is 404 `expired_url`."""
    url = fake.issue_response_url("half-an-hour")

    fake.advance(29 * 60)
    in_time = httpx.post(url, json={"text": "still in time"})
    fake.advance(2 * 60)
    too_late = httpx.post(url, json={"text": "too late"})

    assert in_time.status_code == 200
    assert (too_late.status_code, too_late.text) == (404, "expired_url")
    assert [c.payload["text"] for c in fake.replies("half-an-hour")] == ["still in time"]


def test_unissued_and_failing_response_urls_show_nothing(fake: FakeSlack) -> None:
    """A URL Slack never issued is refused; fail_response_urls refuses issued ones too."""
    stray = httpx.post(f"{fake.url}/response/never-issued", json={"text": "x"})
    url = fake.issue_response_url("down")
    fake.fail_response_urls(status=500, body="internal_error")

    down = httpx.post(url, json={"text": "x"})

    assert stray.status_code == 404
    assert (down.status_code, down.text) == (500, "internal_error")
    assert fake.replies("down") == []


def test_reset_restores_the_default_workspace(fake: FakeSlack, api: httpx.Client) -> None:
    """reset brings the bot back into C0INCIDENT, forgets faults and the clock's advance."""
    posted = call(api, "chat.postMessage", channel="C0INCIDENT", text="hi")
    fake.remove_bot()
    fake.fail_method("chat.postEphemeral", "invalid_auth")
    fake.advance(3600)

    fake.reset()

    assert fake.calls == []
    assert call(api, "chat.update", channel="C0INCIDENT", ts=posted["ts"], text="x")["ok"]
    assert call(api, "chat.postEphemeral", channel="C0INCIDENT", user="U0A", text="x")["ok"]
    assert httpx.post(fake.issue_response_url("fresh"), json={"text": "x"}).status_code == 200


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _button(label: str, value: str = "v") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": "a",
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def _modal(blocks: list[dict[str, Any]], title: str = "Pause") -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks}


# (what is too big, the message or view that carries it, Slack's error)
TOO_BIG: list[tuple[str, dict[str, Any], str]] = [
    ("51 blocks", {"blocks": [_section("x")] * 51}, "invalid_blocks"),
    ("section text", {"blocks": [_section("x" * 3001)]}, "invalid_blocks"),
    ("11 section fields", {"blocks": [{"type": "section", "fields": [
        {"type": "mrkdwn", "text": "x"}] * 11}]}, "invalid_blocks"),
    ("header", {"blocks": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]},
     "invalid_blocks"),
    ("11 context elements", {"blocks": [{"type": "context", "elements": [
        {"type": "mrkdwn", "text": "x"}] * 11}]}, "invalid_blocks"),
    ("button label", {"blocks": [{"type": "actions", "elements": [_button("x" * 76)]}]},
     "invalid_blocks"),
    ("button value", {"blocks": [{"type": "actions", "elements": [_button("x", "v" * 2001)]}]},
     "invalid_blocks"),
    ("empty section text", {"blocks": [_section("")]}, "invalid_blocks"),
    ("fallback text", {"text": "x" * 40_001}, "msg_too_long"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "message", "error"), TOO_BIG, ids=[t[0] for t in TOO_BIG])
def test_messages_beyond_block_kit_limits_are_refused_everywhere(
    what: str, message: dict[str, Any], error: str, fake: FakeSlack, api: httpx.Client
) -> None:
    """Over a limit, the Web API answers the error, a response URL and a webhook HTTP 400, and
    each refusal is kept for the session's check."""
    message = {"text": "x", **message}
    posted = call(api, "chat.postMessage", channel="C0INCIDENT", **message)
    ephemeral = call(api, "chat.postEphemeral", channel="C0INCIDENT", user="U0A", **message)
    reply = httpx.post(fake.issue_response_url("big"), json=message)
    hook = httpx.post(fake.hook(), json=message)

    assert (posted["ok"], posted["error"]) == (False, error)
    assert (ephemeral["ok"], ephemeral["error"]) == (False, error)
    assert (reply.status_code, reply.text) == (400, error)
    assert (hook.status_code, hook.text) == (400, error)
    assert len(fake.refusals) == 4, what
    assert fake.replies("big") == []


def test_messages_at_the_limits_are_taken(fake: FakeSlack, api: httpx.Client) -> None:
    """50 blocks, 3,000-character sections, 75-character labels, 40,000 characters of text."""
    blocks = [_section("x" * 3000)] * 48 + [
        {"type": "actions", "elements": [_button("x" * 75, "v" * 2000)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 10},
    ]

    posted = call(api, "chat.postMessage", channel="C0INCIDENT", text="x" * 40_000, blocks=blocks)

    assert posted["ok"] is True
    assert fake.refusals == []


def test_views_open_once_within_three_seconds_of_their_trigger(
    fake: FakeSlack, api: httpx.Client
) -> None:
    """A trigger opens one view, only in its first 3 s; a made-up one opens none."""
    view = _modal([_section("Loading…")])
    fake.issue_trigger("t-fresh")
    fake.issue_trigger("t-late")
    fake.age_triggers(3.5)
    fake.issue_trigger("t-aged")

    opened = call(api, "views.open", trigger_id="t-fresh", view=view)
    again = call(api, "views.open", trigger_id="t-fresh", view=view)
    aged = call(api, "views.open", trigger_id="t-aged", view=view)
    fake.advance(3.5)
    late = call(api, "views.open", trigger_id="t-late", view=view)
    made_up = call(api, "views.open", trigger_id="t-never", view=view)

    assert opened["ok"] is True
    assert opened["view"]["hash"]
    assert again == {"ok": False, "error": "exchanged_trigger_id"}
    assert aged == late == {"ok": False, "error": "expired_trigger_id"}
    assert made_up == {"ok": False, "error": "invalid_trigger_id"}
    assert [v["id"] for v in fake.views()] == [opened["view"]["id"]]


def test_views_update_needs_an_open_view_and_its_current_hash(
    fake: FakeSlack, api: httpx.Client
) -> None:
    """An update replaces the view Slack holds; a stale hash is `hash_conflict`, an unknown
    view `not_found`."""
    fake.issue_trigger("t-update")
    opened = call(api, "views.open", trigger_id="t-update", view=_modal([_section("Loading…")]))[
        "view"
    ]
    form = _modal([_section("Ready")])

    updated = call(api, "views.update", view_id=opened["id"], hash=opened["hash"], view=form)
    stale = call(api, "views.update", view_id=opened["id"], hash=opened["hash"], view=form)
    unknown = call(api, "views.update", view_id="V0NONE", view=form)

    assert updated["ok"] is True
    assert stale == {"ok": False, "error": "hash_conflict"}
    assert unknown == {"ok": False, "error": "not_found"}
    assert fake.views()[0]["blocks"] == form["blocks"]


def test_views_beyond_their_limits_are_refused(fake: FakeSlack, api: httpx.Client) -> None:
    """101 blocks, a 25-character title, 101 options or a 76-character option label in a view:
    `invalid_arguments` with Slack's messages; 100 blocks in Home are taken."""
    menu = {
        "type": "input",
        "block_id": "menu",
        "label": {"type": "plain_text", "text": "Endpoint"},
        "element": {
            "type": "static_select",
            "action_id": "pick",
            "options": [
                {"text": {"type": "plain_text", "text": "x" * 76}, "value": "v"}
            ] * 101,
        },
    }  # fmt: skip
    views = [
        _modal([_section("x")] * 101),
        _modal([_section("x")], title="x" * 25),
        _modal([menu]),
    ]
    answers = []
    for number, view in enumerate(views):
        fake.issue_trigger(f"t-{number}")
        answers.append(call(api, "views.open", trigger_id=f"t-{number}", view=view))
    home = {"type": "home", "blocks": [_section("x")] * 100}
    published = call(api, "views.publish", user_id="U0A", view=home)

    assert [a["error"] for a in answers] == ["invalid_arguments"] * 3
    messages = answers[2]["response_metadata"]["messages"]
    assert (
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks/0/element/options]"
        in messages
    )
    assert any("/options/0/text/text" in m for m in messages)
    assert published["ok"] is True
    assert len(fake.refusals) == 3
