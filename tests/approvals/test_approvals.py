"""Four-eyes changes: requests, approvals, denials, expiry, and exactly-once buttons."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import BotProcess, eventually
from tests.helpers import (
    APPROVER,
    OPERATOR,
    REQUESTER,
    button,
    channel_posts,
    deny,
    form_of,
    message,
    reply_to,
    view_text,
)
from tests.slack_requests import SlackSender


def _ask(
    sender: SlackSender, slack: FakeSlack, text: str = "pause orders-api bad payloads"
) -> SlackCall:
    sender.command(REQUESTER, text)
    return channel_posts(slack)[0]


@pytest.mark.usefixtures("team")
def test_requester_asks_and_approver_approves(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Request with both buttons; approve → one PUT, message updated in place, webhook told."""
    endpoint = convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())

    sent = sender.command(REQUESTER, "pause orders-api bad payloads since 02:10")
    request = channel_posts(slack)[0]

    assert "<@U0REQUESTER> asks to *pause* *orders-api*" in request.text
    assert "bad payloads since 02:10" in request.text
    assert "*Status when asked:* active" in request.text
    assert "Expires" in request.text
    approve = button(request, ids.APPROVE_BUTTON)
    assert button(request, ids.DENY_BUTTON)["value"] == approve["value"]
    assert "is posted in this channel" in reply_to(slack, sent.token)[0]
    assert convoy.writes() == []

    click = sender.click(APPROVER, ids.APPROVE_BUTTON, approve["value"], message=message(request))

    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert update.payload["ts"] == request.answer["ts"]
    assert "*Approved* by <@U0APPROVER>" in update.text
    assert "was *paused*" in update.text
    assert "bad payloads since 02:10" in update.text, "the story stays in the message"
    assert ids.APPROVE_BUTTON not in json.dumps(update.payload["blocks"])
    assert ids.DENY_BUTTON not in json.dumps(update.payload["blocks"])
    assert ids.RESUME_BUTTON in json.dumps(update.payload["blocks"])
    assert "Done:" in reply_to(slack, click.token)[0]
    notice = eventually(lambda: slack.api_calls("chat.postEphemeral"), what="requester notice")
    assert notice[0].payload["user"] == REQUESTER
    assert "approved your request" in notice[0].text
    assert "was *paused* by <@U0REQUESTER>, approved by <@U0APPROVER>" in slack.webhooks()[0].text


@pytest.mark.usefixtures("team")
def test_deny_asks_a_reason_changes_nothing_and_tells_the_requester(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Deny opens a form for a reason; once sent, no Convoy write; the request message says
    denied, and why; the requester is told, with the reason; the approver hears it done."""
    endpoint = convoy.add_endpoint("orders-api")
    request = _ask(sender, slack)

    click = deny(sender, slack, APPROVER, request, "the receiver is healthy again")

    form = form_of(slack, click)
    assert (form["title"]["text"], form["submit"]["text"]) == ("Deny request", "Deny")
    assert "<@U0REQUESTER> asks to *pause* *orders-api*" in view_text(form)
    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]
    assert update.payload["ts"] == request.answer["ts"]
    assert "*Denied* by <@U0APPROVER>" in update.text
    assert "*Reason for denying:* the receiver is healthy again" in update.text
    assert "actions" not in json.dumps(update.payload["blocks"])
    notice = eventually(lambda: slack.api_calls("chat.postEphemeral"), what="requester notice")
    assert notice[0].payload["user"] == REQUESTER
    assert "<@U0APPROVER> denied your request to pause *orders-api* (`" in notice[0].payload["text"]
    assert notice[0].payload["text"].endswith("Their reason: the receiver is healthy again")
    assert "You denied the request. Nothing was changed." in reply_to(slack, click.token)[0]
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"


@pytest.mark.usefixtures("team")
def test_a_deny_form_left_open_blocks_nobody(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """An approver who opened Deny's form claims nothing: another approves meanwhile (one
    PUT), and the form sent afterwards is told the request was already approved."""
    grant("U0SECOND", Role.APPROVER)
    convoy.add_endpoint("orders-api")
    request = _ask(sender, slack)
    value = button(request, ids.DENY_BUTTON)["value"]
    denying = sender.click(APPROVER, ids.DENY_BUTTON, value, message=message(request))
    form = form_of(slack, denying)

    approving = sender.click("U0SECOND", ids.APPROVE_BUTTON, value, message=message(request))
    assert "Done:" in reply_to(slack, approving.token)[0]
    sender.submit(APPROVER, form, {ids.REASON_BLOCK: "too late"})

    assert "already approved by <@U0SECOND>" in reply_to(slack, denying.token)[0]
    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert len(slack.api_calls("chat.update")) == 1, "the approved message is left as it is"


@pytest.mark.usefixtures("team")
def test_a_deny_click_slack_would_not_open_a_form_for(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A Deny click that reached the bot after its trigger expired: no form, the approver is
    told to click again, and the request is still open."""
    convoy.add_endpoint("orders-api")
    request = _ask(sender, slack)
    slack.age_triggers(3.5)

    click = sender.click(
        APPROVER,
        ids.DENY_BUTTON,
        button(request, ids.DENY_BUTTON)["value"],
        message=message(request),
    )

    (reply,) = reply_to(slack, click.token)
    assert "Slack did not open the form for denying (expired_trigger_id)" in reply
    assert "click *Deny* again" in reply
    slack.age_triggers(0)
    deny(sender, slack, APPROVER, request)
    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]
    assert "*Denied* by <@U0APPROVER>" in update.text
    assert "Reason for denying" not in update.text, "no reason given, none shown"


@pytest.mark.usefixtures("team")
def test_self_approval_and_viewer_clicks_are_refused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """The requester (even if an approver) cannot approve; a viewer cannot; nothing changes."""
    convoy.add_endpoint("orders-api")
    grant(REQUESTER, Role.REQUESTER)
    request = _ask(sender, slack)
    value = button(request, ids.APPROVE_BUTTON)["value"]
    grant(REQUESTER, Role.APPROVER)  # promoted since: still their own request

    own = sender.click(REQUESTER, ids.APPROVE_BUTTON, value, message=message(request))
    viewer = sender.click("U0VIEWER", ids.APPROVE_BUTTON, value, message=message(request))

    assert "cannot approve or deny your own request" in reply_to(slack, own.token)[0]
    assert "needs the *approver* role" in reply_to(slack, viewer.token)[0]
    assert convoy.writes() == []
    assert slack.api_calls("chat.update") == []
    late = sender.click(APPROVER, ids.APPROVE_BUTTON, value, message=message(request))
    assert "Done:" in reply_to(slack, late.token)[0], "the refusals did not use up the request"


@pytest.mark.usefixtures("team")
def test_expired_request_changes_nothing(
    bot_factory: Callable[..., BotProcess],
    sender_to: Callable[[BotProcess], SlackSender],
    move_clock: Callable[[timedelta], None],
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
) -> None:
    """A click after expiry: no Convoy write; the message and the clicker say expired."""
    convoy.add_endpoint("orders-api")
    request = _ask(sender, slack)  # requests live 30 minutes
    value = button(request, ids.APPROVE_BUTTON)["value"]

    move_clock(timedelta(minutes=31))
    later = bot_factory(CONVOY_BOT_MOVABLE_CLOCK="true")  # reads the clock before it serves
    click = sender_to(later).click(APPROVER, ids.APPROVE_BUTTON, value, message=message(request))

    assert "has expired. Nothing was changed." in reply_to(slack, click.token)[0]
    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]
    assert "Expired at" in update.text
    assert "actions" not in json.dumps(update.payload["blocks"])
    assert convoy.writes() == []


@pytest.mark.usefixtures("team")
def test_twenty_approvers_on_two_replicas_make_one_put(
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender: SlackSender,
    second_bot: BotProcess,
    sender_to: Callable[[BotProcess], SlackSender],
    grant: Callable[..., None],
) -> None:
    """20 simultaneous Approve clicks over two bot processes: one PUT, twenty answers."""
    endpoint = convoy.add_endpoint("orders-api")
    approvers = [f"U0APPROVER{n:02d}" for n in range(20)]
    for user in approvers:
        grant(user, Role.APPROVER)
    request = _ask(sender, slack)
    value = button(request, ids.APPROVE_BUTTON)["value"]
    other = sender_to(second_bot)
    senders = [sender, other]

    def click(index: int) -> str:
        return (
            senders[index % 2]
            .click(approvers[index], ids.APPROVE_BUTTON, value, message=message(request))
            .token
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        tokens = list(pool.map(click, range(20)))
    answers = [reply_to(slack, token)[0] for token in tokens]

    assert [w.operation for w in convoy.writes()] == ["pause"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert sum("Done:" in a for a in answers) == 1
    assert sum("This request was already" in a for a in answers) == 19
    assert len(slack.api_calls("chat.update")) == 1


@pytest.mark.usefixtures("team")
def test_request_for_endpoint_paused_meanwhile_resolves_as_already_paused(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Paused by someone else before approval: no PUT; the request says already paused."""
    endpoint = convoy.add_endpoint("orders-api")
    request = _ask(sender, slack)
    convoy.set_status(endpoint["uid"], "paused")

    sender.click(
        APPROVER,
        ids.APPROVE_BUTTON,
        button(request, ids.APPROVE_BUTTON)["value"],
        message=message(request),
    )

    update = eventually(lambda: slack.api_calls("chat.update"), what="the update")[0]
    assert "*Approved* by <@U0APPROVER>" in update.text
    assert "is already paused. Nothing was changed." in update.text
    assert convoy.writes() == []
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"


@pytest.mark.usefixtures("team")
def test_second_request_for_the_same_change_is_not_posted_again(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """While a request is open, asking again points at it instead of posting another."""
    convoy.add_endpoint("orders-api")
    _ask(sender, slack)

    again = sender.command(REQUESTER, "pause orders-api still bad")

    assert "already asked to pause" in reply_to(slack, again.token)[0]
    assert len(slack.api_calls("chat.postMessage")) == 1


@pytest.mark.usefixtures("team")
def test_requester_resume_button_asks_for_approval(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """A requester's Resume click posts an approval request instead of resuming."""
    convoy.add_endpoint("orders-api")
    sender.command(OPERATOR, "pause orders-api")
    paused = channel_posts(slack)[0]
    slack.reset()

    sender.click(
        REQUESTER,
        ids.RESUME_BUTTON,
        button(paused, ids.RESUME_BUTTON)["value"],
        message=message(paused),
    )

    request = channel_posts(slack)[0]
    assert "<@U0REQUESTER> asks to *resume*" in request.text
    assert [w.operation for w in convoy.writes()] == ["pause"]


@pytest.mark.usefixtures("team")
def test_inactive_endpoint_resume_needs_confirmation(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """Resume of an inactive endpoint asks first; only the confirm click activates it, once."""
    endpoint = convoy.add_endpoint("orders-api", status="inactive")

    sent = sender.command(OPERATOR, "resume orders-api receiver fixed")

    question = eventually(lambda: slack.replies(sent.token), what="the confirmation")[0]
    assert "Convoy disabled it after repeated delivery failures" in question.text
    assert convoy.writes() == []
    confirm = button(question, ids.CONFIRM_REENABLE)
    assert confirm["style"] == "danger"
    assert "confirm" in confirm

    stranger = sender.click(APPROVER, ids.CONFIRM_REENABLE, confirm["value"])
    assert "Only the person who ran the command" in reply_to(slack, stranger.token)[0]
    sender.click(OPERATOR, ids.CONFIRM_REENABLE, confirm["value"])
    posts = eventually(lambda: slack.api_calls("chat.postMessage"), what="the announcement")
    again = sender.click(OPERATOR, ids.CONFIRM_REENABLE, confirm["value"])

    assert "already made or has expired" in reply_to(slack, again.token)[0]
    assert [w.operation for w in convoy.writes()] == ["activate"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "active"
    assert "was *resumed* by <@U0OPERATOR>" in posts[0].text


@pytest.mark.usefixtures("team")
def test_bot_not_in_channel_falls_back_and_says_how_to_invite(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """not_in_channel: the request still reaches the channel; the asker learns how to invite."""
    convoy.add_endpoint("orders-api")
    slack.remove_bot("C0INCIDENT")

    sent = sender.command(REQUESTER, "pause orders-api")

    replies = reply_to(slack, sent.token, count=3)
    public = [
        c for c in slack.replies(sent.token) if c.payload.get("response_type") == "in_channel"
    ]
    assert len(public) == 1
    assert button(public[0], ids.APPROVE_BUTTON)
    assert any("Invite me with `/invite @Convoy`" in text for text in replies)
    assert convoy.writes() == []


@pytest.mark.usefixtures("team")
def test_request_that_could_not_be_posted_is_withdrawn(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """chat.postMessage failing (not a membership problem): the asker hears, and may ask again."""
    convoy.add_endpoint("orders-api")
    slack.fail_method("chat.postMessage", "invalid_auth")

    first = sender.command(REQUESTER, "pause orders-api")
    assert "could not post your request" in reply_to(slack, first.token)[0]
    slack.reset()
    second = sender.command(REQUESTER, "pause orders-api")

    assert "is posted in this channel" in reply_to(slack, second.token)[0]
    assert channel_posts(slack)[0]
    assert convoy.writes() == []


def test_an_approved_change_convoy_refuses_goes_back_to_pending(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, team: None
) -> None:
    """Convoy refuses the approved PUT (a 400): the approver hears Convoy's words, the
    request is pending again with its buttons, and a later Approve makes the change once."""
    endpoint = convoy.add_endpoint("orders-api")
    asked = sender.command(REQUESTER, "pause orders-api retries")
    reply_to(slack, asked.token)
    request = channel_posts(slack)[0]
    approve = button(request, ids.APPROVE_BUTTON)
    convoy.set_fault("pause", status=400, message="endpoint is being updated", times=1)

    refused = sender.click(APPROVER, ids.APPROVE_BUTTON, approve["value"], message=message(request))
    told = reply_to(slack, refused.token)[0]
    again = sender.click(APPROVER, ids.APPROVE_BUTTON, approve["value"], message=message(request))
    reply_to(slack, again.token)

    # The request is updated and the requester told last: wait for both, so nothing of this
    # test reaches the next one's Slack.
    eventually(lambda: slack.api_calls("chat.postEphemeral"), what="the requester's notice")
    decided = [c for c in slack.api_calls("chat.update") if "*Approved* by" in c.text]
    assert "Convoy refused the request: endpoint is being updated." in told
    assert [w.operation for w in convoy.writes()] == ["pause", "pause"]
    assert convoy.endpoint(endpoint["uid"])["status"] == "paused"
    assert len(decided) == 1, "the second Approve decided the request, once"
