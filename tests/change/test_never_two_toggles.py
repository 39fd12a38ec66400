"""Never two toggles, never a lie: changes stay safe when Convoy is slow or a replica dies.

Each test drives a fault of a real incident as a user meets it (signed Slack requests, the
fake Convoy made slow, dripping, failing or committing a write late, a replica stopped with
SIGTERM), and checks what Convoy received and what people were told.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import redis

from bot import redis_keys
from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import BotProcess, eventually
from tests.helpers import (
    APPROVER,
    REQUESTER,
    button,
    convoy_receives,
    message,
    post_with,
    reply_to,
)
from tests.slack_requests import SlackSender

FIRST = "U0FIRSTOP"
SECOND = "U0SECONDOP"
OTHER_APPROVER = "U0OTHERAPPROVER"


@pytest.fixture
def people(grant: Callable[..., None]) -> None:
    grant(FIRST, Role.OPERATOR)
    grant(SECOND, Role.OPERATOR)
    grant(REQUESTER, Role.REQUESTER)
    grant(APPROVER, Role.APPROVER)
    grant(OTHER_APPROVER, Role.APPROVER)


def _posts(slack: FakeSlack, needle: str) -> list[SlackCall]:
    return [c for c in slack.api_calls("chat.postMessage") if needle in c.text]


def _statuses_told(slack: FakeSlack, uid: str) -> list[str]:
    """Every status the bot's channel messages stated for the endpoint, oldest first."""
    told = []
    for call in slack.api_calls("chat.postMessage"):
        metadata = call.payload.get("metadata") or {}  # chat.postMessage is sent as JSON
        payload = metadata.get("event_payload") or {}
        if payload.get("endpoint") == uid:
            told.append(str(payload["status"]))
    return told


@pytest.mark.usefixtures("people")
def test_a_reply_that_drips_in_never_outlives_the_lock(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Item 1: a GET dripping in past the lock's life ends at its deadline, so a second
    operator's pause is the only write; the first operator hears Convoy was too slow."""
    bot = bot_factory(
        CONVOY_TIMEOUT_SECONDS="0.2",
        CONVOY_BOT_LOCK_TTL_SECONDS="2.5",
        CONVOY_BOT_CHANGES_PER_MINUTE="0",  # the second operator retries until the lock is free
    )
    sender = sender_to(bot)
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    convoy.set_fault("get", drip=0.002, times=1)  # a reply trickling in for several seconds

    with convoy_receives(convoy, "get", what="its GET"):
        first = sender.command(FIRST, f"pause {uid} first")

    def second_got_the_lock() -> bool:
        if _posts(slack, "by <@U0SECONDOP>"):
            return True
        sent = sender.command(SECOND, f"pause {uid} second")
        eventually(
            lambda: slack.replies(sent.token) or _posts(slack, "by <@U0SECONDOP>"),
            what="the second pause's answer",
        )
        return bool(_posts(slack, "by <@U0SECONDOP>"))

    eventually(second_got_the_lock, timeout=30, what="the second operator's pause")
    told_first = eventually(
        lambda: slack.replies(first.token) or _posts(slack, "by <@U0FIRSTOP>"),
        timeout=30,
        what="the first operator's answer",
    )[0].text

    assert "Convoy did not answer in time" in told_first
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(uid)["status"] == "paused"


@pytest.mark.usefixtures("people")
def test_a_write_is_never_sent_once_the_lock_is_lost(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, store: redis.Redis, scope: str
) -> None:
    """Item 1: the lock is checked right before the write; lost meanwhile, nothing is sent."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    convoy.set_fault("get", delay=1.0, times=1)

    with convoy_receives(convoy, "get", what="the GET"):
        sent = sender.command(FIRST, f"pause {uid}")
    store.delete(redis_keys.endpoint_lock(scope, uid))  # it ran out under the slow GET

    assert "ran out while Convoy was slow, so it sent nothing" in reply_to(slack, sent.token)[0]
    assert convoy.writes() == []
    assert convoy.endpoint(uid)["status"] == "active"


@pytest.mark.usefixtures("people")
def test_a_late_landing_write_is_not_followed_by_a_second(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Item 2: a PUT that times out and lands later: "not confirmed", no second PUT, then the
    settled truth; the channel's last word matches Convoy."""
    bot = bot_factory(CONVOY_TIMEOUT_SECONDS="0.5", CONVOY_BOT_SETTLE_SECONDS="2")
    sender = sender_to(bot)
    uid = str(convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())["uid"])
    convoy.set_fault("pause", delay=1.5, apply_before_delay=False, times=1)

    first = sender.command(FIRST, f"pause {uid} flapping")
    eventually(lambda: slack.replies(first.token) or _posts(slack, "flapping"), what="1st answer")
    second = sender.command(SECOND, f"pause {uid} still flapping")
    eventually(lambda: slack.replies(second.token) or _posts(slack, "still"), what="2nd answer")
    eventually(lambda: len(convoy.requests) > 3, what="the late PUT landing and a read")

    assert [w.operation for w in convoy.writes()] == ["pause"]
    settled = post_with(slack, "*took effect*")
    doubt = post_with(slack, "is *not confirmed*")
    refused = reply_to(slack, second.token)[0]
    assert convoy.endpoint(uid)["status"] == "paused"
    assert "status read back from Convoy: active" in doubt.text
    assert "is not confirmed yet: Convoy may still apply it" in refused
    assert "Nothing was changed now" in refused
    assert settled.payload["thread_ts"] == doubt.answer["ts"]
    assert _statuses_told(slack, uid)[-1] == "paused"
    assert [h.text.count("not confirmed") > 0 for h in slack.webhooks()] == [True, False]


@pytest.mark.usefixtures("people")
def test_a_status_nobody_read_is_never_stated(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Item 3: the write and the read-back both fail: the status is "unknown", everywhere,
    until it is read; then the settled result."""
    uid = str(convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())["uid"])
    convoy.set_fault("pause", status=503, times=1)
    convoy.set_fault("get", status=503, skip=1, times=1)

    sender.command(FIRST, f"pause {uid}")
    doubt = post_with(slack, "is *not confirmed*")
    settled = post_with(slack, "*did not take effect*")

    told = [doubt.text, slack.webhooks()[0].text]
    assert all("New status: active" not in text for text in told)
    assert all("*New status:* unknown (it could not be read)" in text for text in told)
    assert "reading the status back failed too" in doubt.text
    assert "Convoy reports it active" in settled.text
    assert len(convoy.writes()) == 1
    assert _statuses_told(slack, uid) == ["unknown", "active"]


@pytest.mark.usefixtures("people")
def test_a_requester_is_never_told_a_status_nobody_read(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Item 3: an approved pause whose write and read-back both fail: the requester's notice
    and the request message say nothing of a status; the settled result closes the request."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender.command(REQUESTER, f"pause {uid} please")
    request = post_with(slack, "asks to *pause*")
    convoy.set_fault("pause", status=503, times=1)
    convoy.set_fault("get", status=503, skip=1, times=1)

    approve = button(request, ids.APPROVE_BUTTON)
    sender.click(APPROVER, ids.APPROVE_BUTTON, approve["value"], message=message(request))
    notice = eventually(lambda: slack.api_calls("chat.postEphemeral"), what="the notice")[0]
    settled = post_with(slack, "*did not take effect*")
    updates = eventually(lambda: len(slack.api_calls("chat.update")) >= 2 or None, what="2 updates")

    assert "has not confirmed it yet" in notice.text
    assert "Its status is now" not in notice.text
    first_update = slack.api_calls("chat.update")[0]
    assert "New status: active" not in first_update.text
    assert "not confirmed yet" in first_update.text
    assert updates
    assert "Convoy reports it active" in settled.text
    assert len(convoy.writes()) == 1


@pytest.mark.usefixtures("people")
def test_a_write_sent_before_sigterm_is_reported_by_the_next_replica(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Item 4: SIGTERM while the PUT is in flight past the grace: the stopping replica says so
    in its log, and the next replica reads Convoy and reports the change, once."""
    settings = {"CONVOY_TIMEOUT_SECONDS": "9", "CONVOY_BOT_LOCK_TTL_SECONDS": "100"}
    stopping = bot_factory(CONVOY_BOT_SHUTDOWN_GRACE_SECONDS="0.3", **settings)
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    convoy.set_fault("pause", delay=10, apply_before_delay=True, times=1)

    sender_to(stopping).command(FIRST, f"pause {uid} bad payloads")
    eventually(convoy.writes, what="the PUT")
    stopping.process.send_signal(signal.SIGTERM)
    assert stopping.process.wait(timeout=20) == 0
    bot_factory(**settings)  # the next replica (or the same one, restarted)
    settled = post_with(slack, "*took effect*")

    assert "stopped during the pause" in stopping.log()
    assert "settled by the next replica" in stopping.log()
    assert "The pause of *orders-api*" in settled.text
    assert "by <@U0FIRSTOP>" in settled.text
    assert "bad payloads" in settled.text
    assert button(settled, ids.RESUME_BUTTON)
    assert len(convoy.writes()) == 1
    assert convoy.endpoint(uid)["status"] == "paused"
    assert len(_posts(slack, "orders-api")) == 1


@pytest.mark.usefixtures("people")
def test_an_approval_interrupted_by_sigterm_can_be_approved_again(
    convoy: FakeConvoy,
    slack: FakeSlack,
    store: redis.Redis,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Item 5: the approver's replica stops mid-approval; once its claim's lease runs out (on
    the shared clock) another approver's click approves it: one PUT."""
    settings = {"CONVOY_TIMEOUT_SECONDS": "6", "CONVOY_BOT_LOCK_TTL_SECONDS": "60"}
    stopping = bot_factory(CONVOY_BOT_SHUTDOWN_GRACE_SECONDS="0.3", **settings)
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender_to(stopping).command(REQUESTER, f"pause {uid} please")
    request = post_with(slack, "asks to *pause*")
    value = button(request, ids.APPROVE_BUTTON)["value"]
    convoy.set_fault("get", delay=5, times=1)

    with convoy_receives(convoy, "get", what="the GET"):
        sender_to(stopping).click(APPROVER, ids.APPROVE_BUTTON, value, message=message(request))
    stopping.process.send_signal(signal.SIGTERM)
    assert stopping.process.wait(timeout=20) == 0
    other = sender_to(bot_factory(CONVOY_BOT_MOVABLE_CLOCK="true", **settings))
    early = other.click(OTHER_APPROVER, ids.APPROVE_BUTTON, value, message=message(request))
    refused = reply_to(slack, early.token)[0]
    store.set(redis_keys.clock_offset(), 61)  # the first approver's lease has run out
    try:
        late = other.click(OTHER_APPROVER, ids.APPROVE_BUTTON, value, message=message(request))
        done = reply_to(slack, late.token)[0]
    finally:
        store.delete(redis_keys.clock_offset())

    assert "already being approved" in refused
    assert "Done: *orders-api*" in done
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(uid)["status"] == "paused"
    updated = slack.api_calls("chat.update")[-1]
    assert "*Approved* by <@U0OTHERAPPROVER>" in updated.text


@pytest.mark.usefixtures("people")
def test_a_resume_request_never_ends_a_later_pause(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Item 6: a requester's Resume click asks for the pause it was made for; approved after
    that pause ended and a new one began, it changes nothing."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender.command(FIRST, f"pause {uid} first incident")
    first = post_with(slack, "first incident")
    resume = button(first, ids.RESUME_BUTTON)["value"]
    sender.click(REQUESTER, ids.RESUME_BUTTON, resume, message=message(first))
    request = post_with(slack, "asks to *resume*")
    sender.command(FIRST, f"resume {uid}")
    post_with(slack, "was *resumed*")
    sender.command(SECOND, f"pause {uid} second incident")
    post_with(slack, "second incident")

    approve = button(request, ids.APPROVE_BUTTON)["value"]
    click = sender.click(APPROVER, ids.APPROVE_BUTTON, approve, message=message(request))

    assert "The pause this request was about is over" in reply_to(slack, click.token)[0]
    assert [w.operation for w in convoy.writes()] == ["pause", "activate", "pause"]
    assert convoy.endpoint(uid)["status"] == "paused"


@pytest.mark.usefixtures("people")
def test_an_old_resume_button_tells_a_requester_at_once_that_its_pause_is_over(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Issue 21 item 8: a requester's click on the Resume button of a pause already over
    (the endpoint paused again since) says so privately at once, and posts no request that
    could only end "outdated"; with no pause at all now, Convoy's own status is said."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender.command(FIRST, f"pause {uid} first incident")
    first = post_with(slack, "first incident")
    sender.command(FIRST, f"resume {uid}")
    post_with(slack, "was *resumed*")
    sender.command(SECOND, f"pause {uid} second incident")
    post_with(slack, "second incident")

    old = button(first, ids.RESUME_BUTTON)["value"]
    click = sender.click(REQUESTER, ids.RESUME_BUTTON, old, message=message(first))
    said = reply_to(slack, click.token)[0]
    sender.command(SECOND, f"resume {uid}")
    # Told once the bot has booked it (the pause it held is gone), not just written.
    eventually(
        lambda: (
            len([c for c in slack.api_calls("chat.postMessage") if "was *resumed*" in c.text]) == 2
        ),
        what="the second resume announced",
    )
    again = sender.click(REQUESTER, ids.RESUME_BUTTON, old, message=message(first))
    over = reply_to(slack, again.token)[0]

    assert "pause is over" in said, said
    assert "Nothing was changed" in said
    assert "The pause this button was made for is over: Convoy reports" in over, over
    asks = [c for c in slack.api_calls("chat.postMessage") if "asks to *resume*" in c.text]
    assert asks == [], "no approval request was posted"
    assert [w.operation for w in convoy.writes()] == ["pause", "activate", "pause", "activate"]


@pytest.mark.usefixtures("people")
def test_a_typed_resume_request_is_bound_to_the_pause_it_saw(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Item 6: `/convoy resume` by a requester is for the bot's current pause, not a later one."""
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender.command(FIRST, f"pause {uid} first incident")
    post_with(slack, "first incident")
    sender.command(REQUESTER, f"resume {uid} fixed")
    request = post_with(slack, "asks to *resume*")
    sender.command(FIRST, f"resume {uid}")
    post_with(slack, "was *resumed*")
    sender.command(SECOND, f"pause {uid} second incident")
    post_with(slack, "second incident")

    approve = button(request, ids.APPROVE_BUTTON)["value"]
    click = sender.click(APPROVER, ids.APPROVE_BUTTON, approve, message=message(request))

    assert "The pause this request was about is over" in reply_to(slack, click.token)[0]
    assert convoy.endpoint(uid)["status"] == "paused"
    assert len(convoy.writes()) == 3


@pytest.mark.usefixtures("people")
def test_a_stale_reenable_never_resumes_a_pause(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Item 7: Re-enable offered for an inactive endpoint, clicked after it became paused,
    changes nothing and says why."""
    uid = str(convoy.add_endpoint("orders-api", status="inactive")["uid"])
    asked = sender.command(FIRST, f"resume {uid}")
    offer = eventually(
        lambda: next((c for c in slack.replies(asked.token) if "Re-enable" in c.text), None),
        what="the confirmation",
    )
    convoy.set_status(uid, "paused")  # someone re-enabled it and paused it meanwhile

    value = button(offer, ids.CONFIRM_REENABLE)["value"]
    click = sender.click(FIRST, ids.CONFIRM_REENABLE, value)

    assert "is *paused* now, not inactive" in reply_to(slack, click.token)[0]
    assert convoy.writes() == []
    assert convoy.endpoint(uid)["status"] == "paused"


@pytest.mark.usefixtures("people")
def test_a_resume_button_without_a_pause_id_is_refused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Found by reading: a Resume button that names no pause (made while Redis failed) is
    refused clearly; it never resumes whatever pause is current."""
    uid = str(convoy.add_endpoint("orders-api", status="paused")["uid"])

    click = sender.click(FIRST, ids.RESUME_BUTTON, json.dumps({"uid": uid, "hold": ""}))

    assert "does not say which pause it was made for" in reply_to(slack, click.token)[0]
    assert convoy.writes() == []
    assert convoy.endpoint(uid)["status"] == "paused"


@pytest.mark.usefixtures("people")
def test_a_batch_retry_in_doubt_is_not_sent_twice(
    convoy: FakeConvoy,
    slack: FakeSlack,
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    """Found by reading: a batch retry whose answer was lost keeps its claim: a second click
    sends nothing; counted again, the retry is reported as taken."""
    bot = bot_factory(CONVOY_TIMEOUT_SECONDS="0.5")
    sender = sender_to(bot)
    uid = str(convoy.add_endpoint("orders-api")["uid"])
    sender.command(FIRST, f"pause {uid}")
    post_with(slack, "was *paused*")
    now = datetime.now(UTC)
    for _ in range(3):
        convoy.add_event_delivery(uid, created_at=now)
    sender.command(FIRST, f"resume {uid}")
    resumed = post_with(slack, "was *resumed*")
    retry = button(resumed, ids.RETRY_DISCARDED)["value"]
    convoy.set_fault("batchretry", delay=1.0, apply_before_delay=True, times=1)

    first = sender.click(FIRST, ids.RETRY_DISCARDED, retry, message=message(resumed))
    doubt = reply_to(slack, first.token)[0]
    second = sender.click(SECOND, ids.RETRY_DISCARDED, retry, message=message(resumed))
    settled = reply_to(slack, first.token, count=2)[1]

    assert "not confirmed" in doubt
    assert "already sent for retry" in reply_to(slack, second.token)[0]
    assert "Convoy took the retry: 0 of 3" in settled
    assert len([r for r in convoy.requests if r.operation == "batchretry"]) == 1
