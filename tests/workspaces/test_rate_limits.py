"""Slack's rate limits kept by the bot: a burst of posts to one channel is spread out at
Slack's pace (one a second after a short burst), every post is made, and the waits are
counted."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.harness import ADMIN, BotProcess, OwnRedisBot, eventually
from tests.helpers import metric
from tests.slack_requests import SlackSender

OPERATOR = "U0OPERATOR"
BURST = 8


def test_a_burst_of_posts_to_one_channel_waits_its_turn_and_none_is_dropped(
    bot_with_own_redis: Callable[..., OwnRedisBot],
    convoy: FakeConvoy,
    slack: FakeSlack,
    sender_to: Callable[[BotProcess], SlackSender],
) -> None:
    own = bot_with_own_redis(
        CONVOY_BOT_SLACK_RATE_LIMITS="true", CONVOY_BOT_ADMINS=f"{ADMIN},{OPERATOR}"
    )
    bot, sender = own.bot, sender_to(own.bot)
    names = [f"burst-{n}" for n in range(BURST)]
    for name in names:
        convoy.add_endpoint(name)
    waits_before = metric(bot, "convoy_bot_slack_rate_waits_total", method="chat.postMessage")

    for name in names:
        sender.command(OPERATOR, f"pause {name} burst")

    def all_posted() -> list[SlackCall] | None:
        posts = slack.api_calls("chat.postMessage")
        return posts if len(posts) >= BURST else None

    posts = eventually(all_posted, timeout=30, what="every pause's post")
    assert sorted(n for p in posts for n in names if f"*{n}*" in p.text) == sorted(names)
    assert all(p.accepted for p in posts)
    # Four at once, then one a second: the last is at least three seconds after the first
    # (a lower bound: a slow machine only spreads them more).
    assert posts[-1].at - posts[0].at >= 3.0
    waits = metric(bot, "convoy_bot_slack_rate_waits_total", method="chat.postMessage")
    assert waits - waits_before >= BURST - 4 - 1
