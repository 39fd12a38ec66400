"""Slack's limits at their edges, end to end: the longest names and reasons, hundreds of
endpoints and many clicks on one message all give messages Slack takes (the fake Slack refuses
any that breaks a Block Kit limit, and the session fails the test that sent it); mentions in a
reason stay mentions, pings stay text."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.access.roles import Role
from handlers import ids
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import eventually
from tests.helpers import VIEWER, button, channel_posts, message, reply_to
from tests.slack_requests import SlackSender


def test_a_very_long_name_and_reason_reach_the_channel_and_the_webhook(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """A 5,000-character name and a 3,500-character reason: the pause is announced in the
    channel and to the endpoint's webhook, the name and the reason cut with an ellipsis."""
    name = "orders-" + "x" * 5000
    endpoint = convoy.add_endpoint(name, slack_webhook_url=slack.hook())
    reason = "bad payloads " + "y" * 3500

    sent = sender.command(operator, f"pause {endpoint['uid']} {reason}")

    post = channel_posts(slack)[0]
    (hook,) = eventually(slack.webhooks, what="the webhook post")
    assert sent.response.status_code == 200
    assert [w.operation for w in convoy.writes()] == ["pause"]
    for announced in (post, hook):
        assert announced.accepted
        headline, details = (b["text"]["text"] for b in announced.payload["blocks"][:2])
        assert f"*orders-{'x' * 100}" in headline
        assert "x…* (`" in headline
        assert f"*Reason:* bad payloads {'y' * 100}" in details
        assert "y…\n*When:*" in details


def test_mentions_in_a_reason_stay_mentions_and_pings_stay_text(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """A reason naming a person and a channel mentions them, in the channel and the webhook;
    @channel, @here, @everyone and a user group are shown as text, never sent as pings."""
    convoy.add_endpoint("orders-api", slack_webhook_url=slack.hook())
    pings = "<!channel> <!here> <!everyone> <!subteam^S0ONCALL|@oncall>"

    sender.command(operator, f"pause orders-api <@U0ALICE|alice> is on it in <#C0OPS|ops> {pings}")

    post = channel_posts(slack)[0]
    (hook,) = eventually(slack.webhooks, what="the webhook post")
    shown = (
        "<@U0ALICE|alice> is on it in <#C0OPS|ops> &lt;!channel&gt; &lt;!here&gt; "
        "&lt;!everyone&gt; &lt;!subteam^S0ONCALL|@oncall&gt;"
    )
    for announced in (post, hook):
        assert shown in announced.payload["blocks"][1]["text"]["text"]
        assert shown in announced.payload["text"]
        sent = json.dumps(announced.payload)
        for ping in ("<!channel>", "<!here>", "<!everyone>", "<!subteam"):
            assert ping not in sent


def test_hundreds_of_endpoints_with_long_names_in_one_list(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, grant: Callable[..., None]
) -> None:
    """`/convoy list` over 300 endpoints with 1,500-character names: one private answer that
    Slack takes (its 40 names in full would pass 40,000 characters), names cut, the first 40
    shown and the others counted."""
    for number in range(300):
        convoy.add_endpoint(f"{number:03d}-" + "n" * 1500)
    grant(VIEWER, Role.VIEWER)

    sent = sender.command(VIEWER, "list")

    (reply,) = reply_to(slack, sent.token)
    assert "*300 endpoint(s)*, 0 paused" in reply
    assert "…and 260 more; narrow it with `/convoy list <search>`." in reply
    assert f"*000-{'n' * 100}" in reply
    assert "n…* (`" in reply


def test_many_extend_clicks_on_one_announcement_keep_it_whole(
    convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender, operator: str
) -> None:
    """Twenty Extend clicks, each on the announcement as it then stands: Slack takes every
    update, and the message keeps one timer line and its three buttons."""
    convoy.add_endpoint("orders-api")
    sender.command(operator, "pause orders-api for 30m bad payloads")
    current: SlackCall = channel_posts(slack)[0]
    size = len(current.payload["blocks"])

    for clicks in range(1, 21):
        value = button(current, ids.EXTEND_BUTTON)["value"]
        sender.click(operator, ids.EXTEND_BUTTON, value, message=message(current))

        def updated(clicks: int = clicks) -> list[SlackCall] | None:
            found = slack.api_calls("chat.update")
            return found if len(found) >= clicks else None

        current = eventually(updated, what=f"update {clicks}")[-1]

    blocks = current.payload["blocks"]
    assert all(update.accepted for update in slack.api_calls("chat.update"))
    assert len(blocks) == size + 1, "the timer line is replaced, never added again"
    assert [b.get("block_id") for b in blocks].count("timer-note") == 1
    assert "in 10h 30m" in current.text or "in 10h 29m" in current.text
    assert [b["action_id"] for b in blocks[-1]["elements"]] == [
        ids.RESUME_BUTTON,
        ids.EXTEND_BUTTON,
        ids.KEEP_BUTTON,
    ]
    assert [w.operation for w in convoy.writes()] == ["pause"]
