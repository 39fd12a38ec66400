"""Helpers of the watch tests: polls through scheduler replicas with a moved clock, and
what the fake Slack received of the watcher's cards."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.settings import Settings
from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack, SlackCall
from tests.helpers import button, message
from tests.replicas import replicas
from tests.slack_requests import Sent, SlackSender

BOUND = "C0ONCALL"
OTHER_BOUND = "C0PAYMENTS"
MINUTE = timedelta(minutes=1)
WATCH_INTERVAL = MINUTE  # the watch tests' replicas poll every minute


def polls(settings: Settings, convoy: FakeConvoy, *steps: timedelta, count: int = 1) -> list[int]:
    """Tick `count` replicas at each offset from now; how many endpoint-list calls Convoy got
    at each (the watcher's whole cost: one per page)."""

    def listed() -> int:
        return sum(r.operation == "list" for r in convoy.requests)

    async def scenario() -> list[int]:
        seen = []
        async with replicas(settings, count) as group:
            for step in steps:
                before = listed()
                await group.tick_all(step)
                seen.append(listed() - before)
        return seen

    return asyncio.run(scenario())


def cards(slack: FakeSlack) -> list[SlackCall]:
    return [c for c in slack.api_calls("chat.postMessage") if c.accepted and "is failing" in c.text]


def failing(convoy: FakeConvoy, name: str = "orders-api", rate: float = 80.0) -> str:
    uid = str(convoy.add_endpoint(name, url="https://hooks.acme.test/in/secret")["uid"])
    convoy.set_breaker(uid, rate, "open" if rate >= 50 else "closed")
    return uid


def click_card(sender: SlackSender, user: str, action_id: str, card: SlackCall) -> Sent:
    """A click on one of the card's buttons, in the channel the card is in."""
    value = button(card, action_id)["value"]
    channel = card.payload["channel"]
    return sender.click(user, action_id, value, channel_id=channel, message=message(card))


def updates_of(slack: FakeSlack, card: SlackCall) -> list[dict[str, Any]]:
    return [
        c.payload
        for c in slack.api_calls("chat.update")
        if c.payload["channel"] == card.payload["channel"] and c.payload["ts"] == card.answer["ts"]
    ]
