"""Prometheus metrics, in a registry of the bot's own (no global state)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# Slack wants an ack within 3 s; the buckets are finest where a responder would notice.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """What a responder's dashboard needs: commands, outcomes, how fast Slack gets its ack,
    how Convoy and Slack answer, and what the bot holds open."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "convoy_bot_commands",
            "Slash commands and button clicks handled, by kind and result",
            ["kind", "result"],
            registry=self.registry,
        )
        self.changes = Counter(
            "convoy_bot_endpoint_changes",
            "Pause and resume attempts, by action and outcome",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.slack_posts = Counter(
            "convoy_bot_slack_posts",
            "Messages the bot tried to post, by target and result",
            ["target", "result"],
            registry=self.registry,
        )

        self.watch_polls = Counter(
            "convoy_bot_watch_polls",
            "Polls of a watched project by this replica, by project scope and result (ok, failed)",
            ["project", "result"],
            registry=self.registry,
        )
        self.redis_data_losses = Counter(
            "convoy_bot_redis_data_losses",
            "Times this replica found Redis emptied under it (holds, timers, requests lost)",
            registry=self.registry,
        )
        self.acks = Histogram(
            "convoy_bot_ack_seconds",
            "From a Slack request reaching the bot's listeners to its ack",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.convoy_calls = Histogram(
            "convoy_bot_convoy_call_seconds",
            "Convoy API calls, by operation and status (ok, an HTTP status, timeout, unreachable)",
            ["operation", "status"],
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self.slack_calls = Histogram(
            "convoy_bot_slack_call_seconds",
            "Slack Web API calls, by method and result (ok, Slack's error code, or the failure)",
            ["method", "result"],
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )
        self.open_holds = Gauge(
            "convoy_bot_open_holds",
            "Endpoints the bot holds paused (every project), read from Redis when scraped",
            registry=self.registry,
        )
        self.open_approvals = Gauge(
            "convoy_bot_open_approvals",
            "Approval requests waiting for an approver (every project), read when scraped",
            registry=self.registry,
        )
        self.open_timers = Gauge(
            "convoy_bot_open_timers",
            "Auto-resume timers waiting (every project), read from Redis when scraped",
            registry=self.registry,
        )
        self.work_in_progress = Gauge(
            "convoy_bot_work_in_progress",
            "Commands, clicks and forms acknowledged and still being worked on by this replica",
            registry=self.registry,
        )
        self.work_queued = Gauge(
            "convoy_bot_work_queued",
            "Of those, the ones waiting for a free slot (the rest are running)",
            registry=self.registry,
        )
        self.busy_refusals = Counter(
            "convoy_bot_busy_refusals",
            "Commands, clicks and forms refused in their ack because CONVOY_BOT_MAX_PENDING "
            "were already acknowledged and not done, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.background_deferred = Counter(
            "convoy_bot_background_deferred",
            "Rounds of background work (watch polls, App Home refresh) put off to the next tick "
            "because users' work was waiting, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.installation_lookups = Counter(
            "convoy_bot_installation_lookups",
            "Bot tokens looked up for a workspace (many-workspace mode), by source: this "
            "replica's cache, or the installation store in Redis",
            ["source"],
            registry=self.registry,
        )
        self.token_rotations = Counter(
            "convoy_bot_token_rotations",
            "Bot token refreshes by this replica, by result (ok, failed)",
            ["result"],
            registry=self.registry,
        )
        self.slack_rate_waits = Counter(
            "convoy_bot_slack_rate_waits",
            "Slack Web API calls that waited for their workspace's rate limit, by method",
            ["method"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
