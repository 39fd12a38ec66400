"""What the bot records once a change is known: the pause it made booked as a hold, or the
hold of an endpoint now active released; and, after a resume it can date, how many deliveries
Convoy discarded while the endpoint was paused (outside the lock: that is only a read)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.change.holds import HoldStore, Rider, new_hold
from bot.change.inflight import InFlightJournal
from bot.change.locks import HeldLock
from bot.change.model import Change, Intent, Outcome, ResumeSummary
from bot.clock import Clock
from bot.convoy import ConvoyClient
from bot.errors import AccessStoreUnavailable, ConvoyError
from bot.models import EndpointStatus, Hold

DISCARDED = "Discarded"  # Convoy's status for deliveries that arrived while paused


class HoldBooking:
    """Keeps the bot's holds in step with the changes one project's locked change makes."""

    def __init__(
        self, convoy: ConvoyClient, holds: HoldStore, journal: InFlightJournal, clock: Clock
    ) -> None:
        self._convoy = convoy
        self._holds = holds
        self._journal = journal
        self._clock = clock

    @property
    def project(self) -> str:
        return self._convoy.project.scope

    async def book(
        self, change: Change, intent: Intent, lock: HeldLock, paused_at: datetime
    ) -> Change:
        """Record the pause the bot made, or end the hold of an endpoint that is active now.

        The change already happened in Convoy: if Redis fails here, the change is still
        reported, with a note of what the bot could not record.
        """
        riders: list[Rider] = [lock.release_in]
        now = self._clock.now()
        if change.in_flight is not None:
            record = change.in_flight
            riders.append(lambda pipe: self._journal.answered_in(pipe, record, now))
        hold = None
        if change.outcome is Outcome.PAUSED:
            endpoint = change.endpoint
            hold = new_hold(
                project=self.project,
                uid=endpoint.uid,
                name=endpoint.label,
                actor=intent.actor,
                approver=intent.approver,
                reason=intent.reason,
                paused_at=paused_at,
                duration=intent.duration,
                channel_id=intent.channel_id,
            )
        try:
            return await self._in_redis(change, hold, riders)
        except AccessStoreUnavailable:
            missed = (
                " No auto-resume was scheduled: resume it by hand."
                if intent.duration and change.outcome is Outcome.PAUSED
                else ""
            )
            note = f"The bot could not record this in its store (Redis unavailable).{missed}"
            # The hold keeps its id for the message's buttons, though Redis never saw it.
            return replace(change, hold=hold, detail=f"{change.detail} {note}".strip())

    async def _in_redis(self, change: Change, hold: Hold | None, riders: list[Rider]) -> Change:
        # The lock's release and the journal's "answered" ride in the hold's own round trip.
        if hold is not None:
            return replace(change, hold=await self._holds.record(hold, self._clock.now(), riders))
        if change.status_now is EndpointStatus.ACTIVE:
            released = await self._holds.release(self.project, change.endpoint.uid, also=riders)
            # Only a pause the bot made has a known start: Convoy records none.
            if change.outcome is Outcome.RESUMED and released is not None:
                summary = ResumeSummary(
                    released.paused_since, self._clock.now(), True, None, project=self.project
                )
                return replace(change, resumed=summary)
            return change
        if change.in_flight is not None:
            await self._journal.answered(change.in_flight, self._clock.now())
        return change

    async def with_resume_summary(self, change: Change) -> Change:
        """After a resume the bot can date, count what Convoy discarded meanwhile."""
        summary = change.resumed
        if summary is None:
            return change
        try:
            count, complete = await self._convoy.count_deliveries(
                change.endpoint.uid, DISCARDED, summary.paused_since, summary.resumed_at
            )
            counted = replace(summary, discarded=count, counted_all=complete)
        except ConvoyError as exc:
            counted = replace(summary, problem=exc.message)
        return replace(change, resumed=counted)
