"""What /metrics shows an operator: how fast Slack gets its acks, how Convoy and Slack answer,
what the bot holds open, and the process itself."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.convoy import FakeConvoy
from tests.fakes.slack import FakeSlack
from tests.harness import BotProcess, eventually
from tests.helpers import OPERATOR, REQUESTER
from tests.slack_requests import SlackSender


def _samples(bot: BotProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    page = httpx.get(f"{bot.url}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


@pytest.mark.usefixtures("team")
def test_metrics_show_acks_calls_and_what_is_held_open(
    bot: BotProcess, convoy: FakeConvoy, slack: FakeSlack, sender: SlackSender
) -> None:
    """After a timed pause and a request waiting for an approver: one hold, one timer, one
    open approval; the pause's Convoy call and Slack post timed under their labels; acks
    timed; the process and GC collectors present."""
    convoy.add_endpoint("orders-api")
    convoy.add_endpoint("billing-api")

    sender.command(OPERATOR, "pause orders-api for 30m deploy")
    eventually(lambda: slack.api_calls("chat.postMessage"), what="the pause post")
    sender.command(REQUESTER, "pause billing-api noisy")
    eventually(
        lambda: len(slack.api_calls("chat.postMessage")) >= 2 or None, what="the request post"
    )
    samples = _samples(bot)

    assert samples[("convoy_bot_open_holds", ())] == 1
    assert samples[("convoy_bot_open_timers", ())] == 1
    assert samples[("convoy_bot_open_approvals", ())] == 1
    assert samples[("convoy_bot_ack_seconds_count", ())] >= 2
    pause = (("operation", "pause"), ("status", "ok"))
    assert samples[("convoy_bot_convoy_call_seconds_count", pause)] >= 1
    posted = (("method", "chat.postMessage"), ("result", "ok"))
    assert samples[("convoy_bot_slack_call_seconds_count", posted)] >= 2
    assert samples[("process_resident_memory_bytes", ())] > 0
    assert any(name == "python_gc_collections_total" for name, _ in samples)
