"""Timed pauses coming due: reminders before the auto-resume, and the auto-resume itself.

Due timers are leased (bot.change.holds), so of several replicas exactly one runs each. A timer is
settled only after its auto-resume ran: a crash in between leaves its lease to run out, and
the next replica finds the hold (or finds it gone) and acts once.

A timed pause is a promise, and while the endpoint is paused Convoy discards its events: an
auto-resume that fails (Convoy down, a lock held, a write in doubt) is tried again, backing
off from 30 s to 15 min, until it succeeds or a person acts (Resume, Keep paused, a change
outside the bot). The timer is never dropped while the promise stands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.audit import AuditLog
from bot.change.holds import HoldStore, parse_member
from bot.change.locked_change import HoldCheck, LockedChange
from bot.change.model import Change, Intent, Outcome
from bot.clock import Clock
from bot.errors import EndpointNotFound, StaleHold
from bot.models import Action, Hold

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=15)
GONE = "the pause it belonged to is over"


@dataclass(frozen=True)
class AutoResume:
    """What a due timer did: the hold it ended and the change, or why it did nothing, or
    that it failed and when it is tried again (`retry_at`: the timer stands)."""

    hold: Hold | None
    change: Change | None
    skipped: str
    failed: str = ""
    retry_at: datetime | None = None
    attempt: int = 0


def retry_delay(attempt: int) -> timedelta:
    """How long after the `attempt`-th failure to try again: doubling, capped."""
    doubled: timedelta = FIRST_RETRY * 2 ** max(attempt - 1, 0)
    return min(doubled, LONGEST_RETRY)


class AutoResuming:
    """One project's due auto-resumes and reminders (bot.timers.due_work claims them and routes
    each to its project)."""

    def __init__(
        self, holds: HoldStore, change: LockedChange, audit: AuditLog, clock: Clock
    ) -> None:
        self._holds = holds
        self._change = change
        self._audit = audit
        self._clock = clock

    async def failed(self, timer: str, why: str) -> AutoResume:
        """Count the failure on the hold and say when the next attempt comes."""
        project, uid, hold_id = parse_member(timer)
        hold = await self._holds.get(project, uid)
        if hold is None or hold.hold_id != hold_id:
            return AutoResume(None, None, GONE)
        attempt = await self._holds.failed_attempt(hold)
        retry_at = self._clock.now() + retry_delay(attempt)
        logger.warning(
            "auto-resume of %s failed (attempt %d), trying again at %s: %s",
            uid,
            attempt,
            retry_at.isoformat(timespec="seconds"),
            why,
        )
        return AutoResume(hold, None, "", failed=why, retry_at=retry_at, attempt=attempt)

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
                    return AutoResume(hold, change, "", retry_at=self._next_look(change))
            await self._holds.release(project, uid, hold_id)
            draft.outcome, draft.detail = "auto-resume skipped", f"{note}; {skipped}"
        return AutoResume(hold, None, skipped)

    def _next_look(self, change: Change) -> datetime | None:
        """When to try again: after a write in doubt is settled (if it resumed the endpoint,
        the hold is gone by then and the timer ends); after Convoy's odd answer, soon."""
        if change.in_doubt and change.in_flight is not None:
            return change.in_flight.settles_at + FIRST_RETRY
        if not change.changed:
            return self._clock.now() + FIRST_RETRY
        return None

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

    async def due_reminder(self, timer: str) -> Hold | None:
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
