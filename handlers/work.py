"""The work behind an ack: run in the background, every failure a clear private message."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.background import BackgroundTasks
from bot.errors import BotError, UserError
from bot.metrics import Metrics
from handlers.blocks.reads import error_message
from handlers.replies import Replies

logger = logging.getLogger(__name__)

UNEXPECTED = (
    ":x: Something unexpected stopped the bot before it could report. Check the endpoint "
    "with `/convoy status <endpoint>` before trying again."
)


class Worker:
    """Spawns each listener's work after its ack, and counts how it ended."""

    def __init__(self, tasks: BackgroundTasks, metrics: Metrics) -> None:
        self._tasks = tasks
        self._metrics = metrics

    def replies(self, respond: AsyncRespond, client: AsyncWebClient, channel_id: str) -> Replies:
        return Replies(respond, client, channel_id, self._metrics)

    def spawn(self, kind: str, replies: Replies, work: Awaitable[str], user: str = "") -> None:
        self._tasks.spawn(self._guarded(kind, replies, work, user))

    async def _guarded(self, kind: str, replies: Replies, work: Awaitable[str], user: str) -> None:
        """Run work; every failure becomes a private message, never a traceback. One log line
        per request says how it ended, with its context (bot.logs)."""
        logs.begin(command=kind, user=user, channel=replies.channel_id)
        started = time.perf_counter()
        try:
            result = await work
        except BotError as exc:
            self._metrics.commands.labels(kind, type(exc).__name__).inc()
            self._done(started, type(exc).__name__, exc)
            await replies.private(error_message(exc))
            return
        except Exception as exc:  # noqa: BLE001  # the last line: nothing may escape to Bolt's logs
            self._metrics.commands.labels(kind, "crash").inc()
            self._done(started, "crash", exc)
            await replies.private(UNEXPECTED)
            return
        self._metrics.commands.labels(kind, result).inc()
        self._done(started, result)

    @staticmethod
    def _done(started: float, outcome: str, failure: Exception | None = None) -> None:
        logs.note(outcome=outcome, duration_ms=round((time.perf_counter() - started) * 1000))
        if failure is None:
            logger.info("request done")
        elif isinstance(failure, UserError):  # the user's mistake or role: said to them
            logger.info("request refused: %s", logs.describe_failure(failure))
        elif isinstance(failure, BotError):
            logger.warning("request failed: %s", logs.describe_failure(failure))
        else:  # no traceback: its frames may hold secrets
            logger.error("request failed unexpectedly: %s", logs.describe_failure(failure))
