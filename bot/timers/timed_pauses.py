"""People acting on a timed pause: Extend, Keep paused, and where its messages live."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from bot.access.policy import Access, Verb
from bot.audit import AuditEntry, AuditLog
from bot.change.holds import HoldStore
from bot.change.locks import EndpointLocks
from bot.commands.resolver import Finder
from bot.commands.results import RecordGone
from bot.durations import describe
from bot.errors import InvalidInput
from bot.models import Hold


class TimerControls:
    """Moves or cancels a pause's auto-resume, under the endpoint's lock (never mid-resume)."""

    def __init__(
        self,
        access: Access,
        holds: HoldStore,
        locks: EndpointLocks,
        finder: Finder,
        audit: AuditLog,
        *,
        max_pause: timedelta,
    ) -> None:
        self._access = access
        self._holds = holds
        self._locks = locks
        self._finder = finder  # asks Convoy when the bot lost its record of a pause
        self._audit = audit
        self.max_pause = max_pause

    @property
    def project(self) -> str:
        return self._access.scope

    async def extend(
        self, user_id: str, uid: str, hold_id: str, seen_due: str, by: timedelta
    ) -> Hold | RecordGone:
        """Push the auto-resume back (operator+), if nobody changed it since the click's view;
        the hold as it is now (with where its messages are)."""
        async with self._current_hold(user_id, Verb.EXTEND, uid, hold_id) as (hold, draft):
            if hold is None:
                return await self._finder.offer_resume(user_id, uid, timer_lost=True)
            if seen_due and float(seen_due) + by.total_seconds() - float(hold.paused_at) > (
                self.max_pause.total_seconds()
            ):
                raise InvalidInput(
                    f"A timed pause can last at most {describe(self.max_pause)} in all. "
                    "Use Keep paused to hold it until someone resumes it."
                )
            due = await self._holds.extend(hold, seen_due, by)
            draft.outcome = f"auto-resume moved to {due.isoformat(timespec='seconds')}"
        return hold.model_copy(update={"resume_at": f"{due.timestamp():.3f}"})

    async def keep(self, user_id: str, uid: str, hold_id: str) -> Hold | RecordGone:
        """Cancel the auto-resume (operator+): it stays paused until someone resumes it."""
        async with self._current_hold(user_id, Verb.KEEP_PAUSED, uid, hold_id) as (hold, draft):
            if hold is None:
                return await self._finder.offer_resume(user_id, uid, timer_lost=True)
            await self._holds.keep(hold)
            draft.outcome = "auto-resume cancelled"
        return hold.model_copy(update={"resume_at": ""})

    @contextlib.asynccontextmanager
    async def _current_hold(
        self, user_id: str, verb: Verb, uid: str, hold_id: str
    ) -> AsyncIterator[tuple[Hold | None, AuditEntry]]:
        """The pause a button was made for, audited, under the endpoint's lock (so never
        while its auto-resume runs); InvalidInput when a later pause replaced it, None when
        the bot holds no record of any pause of the endpoint (only Convoy can tell)."""
        command = "extend pause" if verb is Verb.EXTEND else verb.value
        async with self._audit.audited(user_id, command, self.project) as draft:
            draft.endpoint_uid = uid
            await self._access.require(user_id, verb)
            async with self._locks.hold(self.project, uid, uid):
                hold = await self._holds.get(self.project, uid)
                if hold is not None and hold.hold_id != hold_id:
                    raise InvalidInput("That pause is over. Nothing was changed.")
                draft.endpoint_name = hold.name if hold else ""
                yield hold, draft
