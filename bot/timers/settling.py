"""Settling writes whose answer was lost: read Convoy once the write can no longer land.

Any replica's scheduler settles a due record of the in-flight journal (bot.change.inflight): one
written by a replica that was stopped mid-change, or one whose writer reported "not
confirmed". The result is booked like any change (the hold, its timer), an approval it
carried out is closed, and the scheduler's callback reports it where the change began.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.approvals.deciding import Deciding
from bot.approvals.store import ApprovalRequest
from bot.audit import AuditLog
from bot.change.inflight import InFlightJournal
from bot.change.locked_change import LockedChange
from bot.change.model import Change
from bot.clock import Clock
from bot.models import FlightState, InFlight

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """A write read back after its answer was lost: what it was, and what Convoy shows."""

    record: InFlight
    change: Change
    request: ApprovalRequest | None  # the approval it carried out, now closed


class Settling:
    """Settles one project's due records by reading, never writing (bot.timers.due_work claims
    them, one replica each, and routes each to its project)."""

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

    def report_pending(self, record: InFlight, now: datetime) -> bool:
        """In doubt, not told yet, and its writer may still be telling it."""
        return (
            record.state is FlightState.IN_DOUBT
            and not record.told
            and now < record.settles_at + self._journal.report_within
        )

    async def settle(self, record: InFlight) -> Settled | None:
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
