"""The work behind an ack: run in the background, every failure a clear private message."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Coroutine
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs, tenancy
from bot.background import BackgroundTasks
from bot.errors import BotError, UserError
from bot.metrics import Metrics
from bot.slack_client import ResponseUrls
from handlers.blocks.reads import error_message
from handlers.replies import Replies

logger = logging.getLogger(__name__)

# Said in the ack itself when CONVOY_BOT_MAX_PENDING pieces of work are already waiting or
# running: nothing was taken on, so the person knows to try again (the bench looks for
# "is busy right now").
BUSY = (
    ":hourglass_flowing_sand: The bot is busy right now and did not take this on: nothing was "
    "changed. Try again in a moment."
)
BUSY_FORM = "The bot is busy right now: nothing was changed. Send it again in a moment."

UNEXPECTED = (
    ":x: Something unexpected stopped the bot before it could report. Check the endpoint "
    "with `/convoy status <endpoint>` before trying again."
)


class Worker:
    """Spawns each listener's work after its ack, and counts how it ended."""

    def __init__(
        self,
        tasks: BackgroundTasks,
        metrics: Metrics,
        responses: ResponseUrls | None = None,
        *,
        max_pending: int = 1_000_000,
        many_workspaces: bool = False,
    ) -> None:
        self._tasks = tasks
        self._metrics = metrics
        self._responses = responses
        self._max_pending = max_pending
        # Serving many workspaces, one holds at most half the places: an incident in one
        # (a burst of pauses) never turns another workspace's commands away.
        self._workspace_limit = max(1, max_pending // 2) if many_workspaces else max_pending
        self._by_workspace: Counter[str] = Counter()

    def take(self, kind: str, replies: Replies, work: Coroutine[Any, Any, str], user: str) -> bool:
        """Spawn the work, or refuse it (False: nothing was taken on, and the listener says
        so in its ack) when CONVOY_BOT_MAX_PENDING pieces of work are already acknowledged
        and not done, or its workspace holds its share of them. Never queued beyond that: a
        command acked is a command done."""
        workspace = _workspace_key()
        if (
            bound_reached(self._tasks, self._max_pending)
            or self._by_workspace[workspace] >= self._workspace_limit
        ):
            work.close()  # never started: no "was never awaited" warning
            self._metrics.busy_refusals.labels(kind).inc()
            return False
        self._by_workspace[workspace] += 1
        self.spawn(kind, replies, self._counted(workspace, work), user)
        return True

    async def _counted(self, workspace: str, work: Awaitable[str]) -> str:
        try:
            return await work
        finally:
            self._by_workspace[workspace] -= 1
            if not self._by_workspace[workspace]:
                del self._by_workspace[workspace]

    def busy_notice(self, replies: Replies) -> None:
        """A click refused as busy: its ack cannot carry text, so the person is told through
        the response URL (one small post, outside the bound: the click itself is refused)."""
        self._tasks.spawn(replies.private(BUSY), at_once=True)

    def replies(self, respond: AsyncRespond, client: AsyncWebClient, channel_id: str) -> Replies:
        return Replies(respond, client, channel_id, self._metrics, self._responses)

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


def bound_reached(tasks: BackgroundTasks, max_pending: int) -> bool:
    """CONVOY_BOT_MAX_PENDING pieces of work are acknowledged and not done: refuse more."""
    return tasks.pending >= max_pending


def _workspace_key() -> str:
    """Whose place a piece of work takes: its workspace's key ("" with one bot token, or for
    a request that named no workspace, which reaches no workspace's state anyway)."""
    try:
        return tenancy.current_key()
    except tenancy.NoWorkspace:
        return ""
