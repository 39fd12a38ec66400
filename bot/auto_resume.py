"""Timed pauses coming due: reminders before the auto-resume, and the auto-resume itself.

Due timers are leased (bot.holds), so of several replicas exactly one runs each. A timer is
settled only after its auto-resume ran: a crash in between leaves its lease to run out, and
the next replica finds the hold (or finds it gone) and acts once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.audit import AuditLog
from bot.changes import Intent, Outcome
from bot.clock import Clock
from bot.errors import BotError, EndpointNotFound, StaleHold
from bot.holds import HoldStore, TimerKind, parse_member
from bot.locked_change import HoldCheck, LockedChange
from bot.models import Action, Hold
from bot.results import AutoResume

logger = logging.getLogger(__name__)

RETRY_AFTER_FAILURE = timedelta(minutes=1)
GONE = "the pause it belonged to is over"


class AutoResuming:
    """Runs what is due now: reminders, then auto-resumes, each on one replica only."""

    def __init__(
        self, holds: HoldStore, change: LockedChange, audit: AuditLog, clock: Clock
    ) -> None:
        self._holds = holds
        self._change = change
        self._audit = audit
        self._clock = clock

    async def remind_due(self, notify: Callable[[Hold], Awaitable[None]]) -> int:
        """Hand each due reminder's hold to `notify`; how many were sent."""
        reminders, lease = await self._holds.claim_due(TimerKind.REMINDERS, self._clock.now())
        sent = 0
        for reminder in reminders:
            hold = await self._due_reminder(reminder)
            if hold is not None:
                await notify(hold)
                sent += 1
            await self._holds.settle(TimerKind.REMINDERS, reminder, lease, None)
        return sent

    async def resume_due(self, report: Callable[[AutoResume], Awaitable[None]]) -> int:
        """Run each due auto-resume and hand what it did to `report`; how many ran."""
        now = self._clock.now()
        timers, lease = await self._holds.claim_due(TimerKind.RESUMES, now)
        ran = 0
        for timer in timers:
            try:
                result = await self.auto_resume(timer)
            except BotError as exc:
                # Leased but not done (Convoy or the lock said no): try again a bit later.
                logger.warning("auto-resume failed, retrying in a minute: %s", exc.message)
                again = now + RETRY_AFTER_FAILURE
                await self._holds.settle(TimerKind.RESUMES, timer, lease, again)
                continue
            await self._holds.settle(TimerKind.RESUMES, timer, lease, None)
            if result.hold is not None:
                ran += 1
                await report(result)
        return ran

    async def auto_resume(self, timer: str) -> AutoResume:
        """Run one due timer: resume only if the bot's hold is still the pause, still due."""
        project, uid, hold_id = parse_member(timer)
        hold = await self._holds.get(project, uid)
        if hold is None or not self._due(hold, hold_id):
            return AutoResume(None, None, GONE)
        intent = Intent(
            hold.actor,
            f"auto-resume after a timed pause: {hold.reason}".strip(),
            change_id=f"timer-{hold.hold_id}",
        )
        note = f"by the bot on behalf of {hold.actor}"
        async with self._audit.audited(hold.actor, "auto-resume", project) as draft:
            draft.endpoint_uid, draft.endpoint_name, draft.reason = hold.uid, hold.name, hold.reason
            draft.detail = note
            try:
                change = await self._change.run(
                    Action.RESUME, uid, hold.name, intent, check=self._still_due(hold_id)
                )
            except StaleHold as stale:
                return AutoResume(None, None, stale.message)  # kept or extended: no entry
            except EndpointNotFound:
                skipped = "the endpoint no longer exists in Convoy"
            else:
                skipped = _not_resumed(change.outcome, change.endpoint.status.value)
                if not skipped:
                    draft.result(change)
                    draft.detail = f"{note}; {change.detail}" if change.detail else note
                    return AutoResume(hold, change, "")
            await self._holds.release(project, uid, hold_id)
            draft.outcome, draft.detail = "auto-resume skipped", f"{note}; {skipped}"
        return AutoResume(hold, None, skipped)

    def _still_due(self, hold_id: str) -> HoldCheck:
        def check(current: Hold | None) -> StaleHold | None:
            return None if self._due(current, hold_id) else StaleHold("kept or extended meanwhile")

        return check

    def _due(self, hold: Hold | None, hold_id: str) -> bool:
        return (
            hold is not None
            and hold.hold_id == hold_id
            and hold.resumes_at is not None
            and hold.resumes_at <= self._clock.now()
        )

    async def _due_reminder(self, timer: str) -> Hold | None:
        """The hold a due reminder is about, if that timer still stands."""
        project, uid, hold_id = parse_member(timer)
        hold = await self._holds.get(project, uid)
        if hold is None or hold.hold_id != hold_id or hold.resumes_at is None:
            return None
        if hold.resumes_at <= self._clock.now():
            return None  # overdue: the auto-resume itself is about to say what happened
        return hold


def _not_resumed(outcome: Outcome, status: str) -> str:
    """Why an auto-resume found nothing to do ("" when it resumed or tried to)."""
    if outcome in (Outcome.ALREADY_ACTIVE, Outcome.INACTIVE):
        state = status or "in an unknown state"
        return f"it is {state} now, not paused: someone changed it outside the bot"
    return ""
