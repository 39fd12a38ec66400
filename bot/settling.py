"""Settling writes whose answer was lost: read Convoy once the write can no longer land.

Any replica's scheduler settles a due record of the in-flight journal (bot.inflight): one
written by a replica that was stopped mid-change, or one whose writer reported "not
confirmed". The result is booked like any change (the hold, its timer), an approval it
carried out is closed, and the scheduler's callback reports it where the change began.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.approvals import ApprovalRequest
from bot.audit import AuditLog
from bot.changes import Change
from bot.clock import Clock
from bot.deciding import Deciding
from bot.errors import BotError
from bot.inflight import InFlightJournal
from bot.locked_change import LockedChange
from bot.models import FlightState, InFlight

logger = logging.getLogger(__name__)

RECHECK = timedelta(seconds=1)


@dataclass(frozen=True)
class Settled:
    """A write read back after its answer was lost: what it was, and what Convoy shows."""

    record: InFlight
    change: Change
    request: ApprovalRequest | None  # the approval it carried out, now closed


class Settling:
    """Claims due records (one replica each) and settles them by reading, never writing."""

    def __init__(
        self,
        journal: InFlightJournal,
        change: LockedChange,
        deciding: Deciding,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._change = change
        self._deciding = deciding
        self._audit = audit
        self._clock = clock

    async def settle_due(self, report: Callable[[Settled], Awaitable[None]]) -> int:
        """Settle what is due now and hand each result to `report`; how many settled."""
        settled = 0
        now = self._clock.now()
        for record in await self._journal.claim_due(now):
            if self._report_pending(record, now):
                # Its "not confirmed" report is still on its way (Slack is slow): the result
                # must not overtake it, or the channel's last word would be the stale one.
                await self._journal.postpone(record, now + RECHECK)
                continue
            try:
                result = await self._settle(record)
            except BotError as exc:
                logger.warning(
                    "settling the %s of %s failed: %s", record.action, record.uid, exc.message
                )
                continue  # its lease runs out and a replica tries again
            if result is not None:
                settled += 1
                await report(result)
        return settled

    def _report_pending(self, record: InFlight, now: datetime) -> bool:
        """In doubt, not told yet, and its writer may still be telling it."""
        return (
            record.state is FlightState.IN_DOUBT
            and not record.told
            and now < record.settles_at + self._journal.report_within
        )

    async def _settle(self, record: InFlight) -> Settled | None:
        command = f"{record.action.value} (settled)"
        async with self._audit.audited(record.actor, command, record.project) as draft:
            change = await self._change.settle(record)
            if change is None:
                return None
            draft.approver, draft.reason = record.approver, record.reason
            draft.result(change)
        request = None
        if record.request_id:
            found = await self._deciding.request(record.request_id)
            if found is not None:
                request = (await self._deciding.close_approved(found, change)).request
        return Settled(record, change, request)
