"""Work started after Slack's ack, tracked so shutdown can let it finish."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.logs import describe_failure

logger = logging.getLogger(__name__)

# How much after-ack work runs at once. CONVOY_BOT_MAX_PENDING's default is as many: work
# taken on beyond the slots only waits for one (BENCHMARKS.md, the overload).
WORK_SLOTS = 32


class BackgroundTasks:
    """Holds a reference to every task (asyncio keeps only weak ones) and drains them on exit.

    At most `limit` run at once; the rest wait their turn. Without that bound an overload
    opens more Convoy and Redis connections than the pools hold, requests time out in the
    pools, and the bot spends its time on the queues instead of the work.
    """

    def __init__(self, limit: int = WORK_SLOTS) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(limit)
        self._running = 0

    def spawn(self, work: Coroutine[Any, Any, None], *, at_once: bool = False) -> None:
        """Run `work` when a slot is free (`at_once`: now, beside the slots, for a notice too
        small to wait behind the work it says was refused)."""
        running = self._running_now(work) if at_once else self._in_turn(work)
        task = asyncio.get_running_loop().create_task(running)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _in_turn(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._slots:
            await self._running_now(work)

    async def _running_now(self, work: Coroutine[Any, Any, None]) -> None:
        """Counted as running (not queued) while it runs, in a slot or beside them."""
        self._running += 1
        try:
            await work
        finally:
            self._running -= 1

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            # The work's own handler reports to the user; this is a last resort for the logs.
            logger.error("background work failed: %s", describe_failure(failure))

    @property
    def pending(self) -> int:
        """Work started and not finished: running, or waiting for a slot."""
        return len(self._tasks)

    @property
    def full(self) -> bool:
        """Every slot is taken: more work would wait for one (or, at the default
        CONVOY_BOT_MAX_PENDING, be refused as busy)."""
        return self._slots.locked()

    @property
    def queued(self) -> int:
        """Work waiting for a slot (every slot is taken)."""
        return len(self._tasks) - self._running

    async def drain(self, grace_seconds: float) -> None:
        """Wait for in-flight work (a pause being made) before the process exits.

        Work still running after the grace is cancelled, and given a moment to release its
        locks; a write it had sent stays in the in-flight journal, where another replica (or
        this one, restarted) settles and reports it.
        """
        if not self._tasks:
            return
        _, still_running = await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        if not still_running:
            return
        logger.warning(
            "stopping with %d piece(s) of work still running after %.1f s; they are "
            "cancelled, and a change they sent is settled by the next replica",
            len(still_running),
            grace_seconds,
        )
        for task in still_running:
            task.cancel()
        await asyncio.wait(still_running, timeout=2)
