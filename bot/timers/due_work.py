"""What is due now, in every project: writes to settle, reminders, auto-resumes.

Due items are kept in Redis sorted sets shared by all projects and leased atomically, so of
several replicas exactly one handles each. Each item names its project's scope; it is
handed to that project's use cases (its Convoy, its rules).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Protocol

from bot import logs
from bot.change.holds import HoldStore, TimerKind, parse_member
from bot.change.inflight import InFlightJournal
from bot.clock import Clock
from bot.errors import BotError
from bot.models import Hold
from bot.timers.auto_resume import AutoResume, AutoResuming
from bot.timers.settling import Settled, Settling

logger = logging.getLogger(__name__)


class ProjectTimers(Protocol):
    """What due work needs of one project: its name for the logs, and two use cases."""

    @property
    def alias(self) -> str: ...

    @property
    def settling(self) -> Settling: ...

    @property
    def auto_resuming(self) -> AutoResuming: ...


Lookup = Callable[[str], Awaitable[ProjectTimers | None]]  # a project's timers by scope
RECHECK = timedelta(seconds=1)
UNKNOWN_RETRY = timedelta(minutes=5)


class DueWork:
    """Claims due items and routes each to its project."""

    def __init__(
        self, holds: HoldStore, journal: InFlightJournal, clock: Clock, lookup: Lookup
    ) -> None:
        self._holds = holds
        self._journal = journal
        self._clock = clock
        self._lookup = lookup

    async def settle_due(self, report: Callable[[Settled], Awaitable[None]]) -> int:
        """Settle the writes whose time has come; how many were settled."""
        settled = 0
        now = self._clock.now()
        for record in await self._journal.claim_due(now):
            cases = await self._lookup(record.project)
            if cases is None:
                logger.warning("a write to settle belongs to no project served: %s", record.project)
                await self._journal.postpone(record, now + UNKNOWN_RETRY)
                continue
            if cases.settling.report_pending(record, now):
                # Its "not confirmed" report is still on its way (Slack is slow): the result
                # must not overtake it, or the channel's last word would be the stale one.
                await self._journal.postpone(record, now + RECHECK)
                continue
            logs.begin(command="settle", project=cases.alias, endpoint=record.uid)
            try:
                result = await cases.settling.settle(record)
            except BotError as exc:
                logger.warning(
                    "settling the %s of %s failed: %s", record.action, record.uid, exc.message
                )
                continue  # its lease runs out and a replica tries again
            if result is not None:
                settled += 1
                await report(result)
        return settled

    async def remind_due(self, notify: Callable[[Hold], Awaitable[None]]) -> int:
        """Hand each due reminder's hold to `notify`; how many were sent."""
        reminders, lease = await self._holds.claim_due(TimerKind.REMINDERS, self._clock.now())
        sent = 0
        for reminder in reminders:
            cases = await self._lookup(parse_member(reminder)[0])
            hold = await cases.auto_resuming.due_reminder(reminder) if cases else None
            if hold is not None:
                await notify(hold)
                sent += 1
            await self._holds.settle(TimerKind.REMINDERS, reminder, lease, None)
        return sent

    async def resume_due(self, report: Callable[[AutoResume], Awaitable[None]]) -> int:
        """Run each due auto-resume in its project and hand what it did to `report`."""
        now = self._clock.now()
        timers, lease = await self._holds.claim_due(TimerKind.RESUMES, now)
        ran = 0
        for timer in timers:
            scope, uid, _ = parse_member(timer)
            cases = await self._lookup(scope)
            if cases is None:
                logger.warning("a timer belongs to no project served: %s", timer)
                await self._holds.settle(TimerKind.RESUMES, timer, lease, now + UNKNOWN_RETRY)
                continue
            logs.begin(command="auto-resume", project=cases.alias, endpoint=uid)
            try:
                result = await cases.auto_resuming.auto_resume(timer)
            except BotError as exc:
                result = await cases.auto_resuming.failed(timer, exc.message)
            # A result with `retry_at` keeps the timer (the promise stands); else it is done.
            await self._holds.settle(TimerKind.RESUMES, timer, lease, result.retry_at)
            if result.hold is not None:
                ran += 1
                await report(result)
        return ran
