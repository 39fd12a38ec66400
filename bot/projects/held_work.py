"""What the bot still owes one project: pauses and timers it holds, writes to Convoy not yet
settled and told, approval requests still open.

A project is not removed, nor its alias pointed at another Convoy project or URL, under any
of them: its timers would belong to no served project and be retried for ever, its writes in
doubt and approvals would loop in settling, its Resume buttons would say the project is not
served.
"""

from __future__ import annotations

from bot.approvals.store import ApprovalStore
from bot.change.holds import HoldStore
from bot.change.inflight import InFlightJournal
from bot.clock import Clock


class HeldWork:
    """Lists what is held in one project (its scope), in words for the CLI."""

    def __init__(
        self, holds: HoldStore, journal: InFlightJournal, approvals: ApprovalStore, clock: Clock
    ) -> None:
        self._holds = holds
        self._journal = journal
        self._approvals = approvals
        self._clock = clock

    async def of(self, scope: str) -> list[str]:
        """One phrase per kind of work held ([] when nothing is)."""
        held = [h for h in await self._holds.all() if h.project == scope]
        in_doubt = await self._journal.of_project(scope)
        waiting = await self._approvals.pending(scope, self._clock.now())
        phrases = []
        if held:
            names = ", ".join(
                f"{h.name or h.uid}" + (" (auto-resume due)" if h.resume_at else "")
                for h in held[:10]
            )
            phrases.append(f"{len(held)} pause(s) the bot holds: {names}")
        if in_doubt:
            names = ", ".join(f"{r.action} {r.name or r.uid}" for r in in_doubt[:10])
            phrases.append(f"{len(in_doubt)} write(s) to Convoy not yet settled: {names}")
        if waiting:
            names = ", ".join(
                f"{r.action} {r.endpoint_name or r.endpoint_uid}" for r in waiting[:10]
            )
            phrases.append(f"{len(waiting)} open approval request(s): {names}")
        return phrases
