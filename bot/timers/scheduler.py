"""The background loop every replica runs: sync the shared clock, settle writes whose answer
was lost, run what timers are due, poll the watched projects that are due, then publish the
App Home boards that changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot import logs
from bot.clock import SharedClock
from bot.errors import BotError
from bot.models import Hold
from bot.timers.auto_resume import AutoResume
from bot.timers.due_work import DueWork
from bot.timers.settling import Settled
from bot.vitals import DataLossWatch

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Scheduler:
    """Ticks every interval; reports go to the Slack-facing callbacks, failures to the log."""

    def __init__(
        self,
        clock: SharedClock,
        watch: DataLossWatch,
        due: DueWork,
        *,
        on_settled: Callable[[Settled], Awaitable[None]],
        on_resumed: Callable[[AutoResume], Awaitable[None]],
        on_reminder: Callable[[Hold], Awaitable[None]],
        interval_seconds: float,
        watch_round: Callable[[], Awaitable[int]] | None = None,
        home_round: Callable[[], Awaitable[int]] | None = None,
        users_waiting: Callable[[], bool] = lambda: False,
        deferred: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self._clock = clock
        self._watch = watch
        self._due = due
        self._on_settled = on_settled
        self._on_resumed = on_resumed
        self._on_reminder = on_reminder
        self._interval = interval_seconds
        self._watch_round = watch_round  # None: this replica does not poll (settings)
        self._home_round = home_round  # the App Home boards that changed, published again
        # Users' commands waiting for a slot: the watch and the Home refresh wait a tick
        # (`deferred` counts it), so background work never delays a person's command.
        self._users_waiting = users_waiting
        self._deferred = deferred

    async def tick(self) -> int:
        """Run everything due now; how many settlements, reminders, auto-resumes and project
        polls ran."""
        logs.begin(command="scheduler")  # each item's own context is noted by DueWork
        await self._clock.sync()
        await self._watch.check()
        settled = await self._due.settle_due(_guarded(self._on_settled, "settled report"))
        reminded = await self._due.remind_due(_guarded(self._on_reminder, "reminder"))
        resumed = await self._due.resume_due(_guarded(self._on_resumed, "auto-resume report"))
        # Last: the timers due now have run before any poll of Convoy (which may be slow).
        polled = await self._yielding("watch", self._watch_round)
        # After the rest, so the boards show what this tick's timers and poll changed.
        boards = await self._yielding("home", self._home_round)
        return settled + reminded + resumed + polled + boards

    async def _yielding(self, kind: str, round_: Callable[[], Awaitable[int]] | None) -> int:
        """A round of background work, unless users' work fills every slot (then the next
        tick)."""
        if round_ is None:
            return 0
        if self._users_waiting():
            self._deferred(kind)
            return 0
        return await round_()

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every interval until stop is set; a failing tick is logged, never fatal."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # noqa: BLE001  # the loop outlives any one failure
                why = exc.message if isinstance(exc, BotError) else logs.describe_failure(exc)
                logger.warning("scheduler tick failed: %s", why)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)


def _guarded(report: Callable[[T], Awaitable[None]], what: str) -> Callable[[T], Awaitable[None]]:
    """A report whose failure (a Slack post) is logged and never stops the other timers."""

    async def guarded(item: T) -> None:
        try:
            await report(item)
        except Exception as exc:  # noqa: BLE001  # one failed post must not stop the others
            logger.error("%s failed: %s", what, logs.describe_failure(exc))

    return guarded
