"""The work behind an ack: run in the background, every failure a clear private message."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundTasks
from bot.errors import BotError
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

    def spawn(self, kind: str, replies: Replies, work: Awaitable[str]) -> None:
        self._tasks.spawn(self._guarded(kind, replies, work))

    async def _guarded(self, kind: str, replies: Replies, work: Awaitable[str]) -> None:
        """Run work; every failure becomes a private message, never a traceback."""
        try:
            result = await work
        except BotError as exc:
            self._metrics.commands.labels(kind, type(exc).__name__).inc()
            await replies.private(error_message(exc))
            return
        except Exception as exc:  # noqa: BLE001  # the last line: nothing may escape to Bolt's logs
            self._metrics.commands.labels(kind, "crash").inc()
            logger.error("%s failed unexpectedly: %s", kind, type(exc).__name__)  # no traceback
            await replies.private(UNEXPECTED)
            return
        self._metrics.commands.labels(kind, result).inc()
