"""Prometheus metrics, in a registry of the bot's own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest


class Metrics:
    """Counters a responder's dashboard needs: commands, outcomes, upstream failures."""

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

    def render(self) -> bytes:
        return generate_latest(self.registry)
