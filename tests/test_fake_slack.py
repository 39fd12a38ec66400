"""The fake Slack refuses what Slack refuses: tokens, channels, messages, used response URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack import FakeSlack

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
