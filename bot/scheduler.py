"""The background loop every replica runs: due auto-resumes and reminders, each exactly once."""
# A timer is finished (removed) only after its auto-resume ran: a crash in between leaves
# its lease to run out, and the next replica finds the hold (or finds it gone) and acts once.

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.errors import BotError
from bot.holds import Hold
from bot.operations import AutoResume, Operations

logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(minutes=1)


class Scheduler:
    """Claims due timers from Redis (so one replica runs each) and hands results to callbacks."""

    def __init__(
        self,
        operations: Operations,
        *,
        on_resumed: Callable[[AutoResume], Awaitable[None]],
        on_reminder: Callable[[Hold], Awaitable[None]],
        interval_seconds: float,
    ) -> None:
        self._operations = operations
        self._on_resumed = on_resumed
        self._on_reminder = on_reminder
        self._interval = interval_seconds

    async def tick(self) -> int:
        """Run everything due now; returns how many timers and reminders this replica ran."""
        holds = self._operations.holds
        now = self._operations.clock.now()
        ran = 0
        reminders, lease = await holds.claim_due("reminders", now)
        for reminder in reminders:
            hold = await self._operations.due_reminder(reminder)
            if hold is not None:
                await self._guard(self._on_reminder(hold), "reminder")
                ran += 1
            await holds.settle("reminders", reminder, lease, None)
        timers, lease = await holds.claim_due("timers", now)
        for timer in timers:
            try:
                result = await self._operations.auto_resume(timer)
            except Exception as exc:  # noqa: BLE001  # one bad timer must not stop the others
                # Leased but not done (Convoy or the lock said no): try again a bit later.
                why = exc.message if isinstance(exc, BotError) else type(exc).__name__
                logger.warning("auto-resume failed, retrying in a minute: %s", why)
                await holds.settle("timers", timer, lease, now + RETRY_AFTER_FAILURE)
                continue
            await holds.settle("timers", timer, lease, None)
            if result.hold is not None:
                ran += 1
                await self._guard(self._on_resumed(result), "auto-resume report")
        return ran

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every interval until stop is set; a failing tick is logged, never fatal."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # noqa: BLE001  # the loop outlives any one failure
                why = exc.message if isinstance(exc, BotError) else type(exc).__name__
                logger.warning("scheduler tick failed: %s", why)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)

    @staticmethod
    async def _guard(work: Awaitable[None], what: str) -> None:
        try:
            await work
        except Exception as exc:  # noqa: BLE001  # a failed post must not stop other timers
            logger.error("%s failed: %s", what, type(exc).__name__)
