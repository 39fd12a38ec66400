"""The locked change: lock → read → write once → read back → book the hold.

Convoy's `PUT .../pause` is a toggle, so a retried or doubled request un-pauses. Every change
the bot makes therefore runs here, under the endpoint's Redis lock: it reads first, writes at
most once, and after an ambiguous failure (a timeout, a 5xx, an unreadable reply) reads the
endpoint again and reports what is really there. After a resume, outside the lock (it is only
a read), it asks Convoy how many deliveries were discarded while the endpoint was paused.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.changes import Action, Change, Intent, Outcome, ResumeSummary
from bot.clock import Clock
from bot.convoy import ConvoyClient
from bot.errors import (
    AccessStoreUnavailable,
    ConvoyBadResponse,
    ConvoyError,
    ConvoyUnavailable,
    StaleHold,
)
from bot.holds import HoldStore
from bot.locks import EndpointLocks, HeldLock
from bot.models import Endpoint, EndpointStatus, Hold

logger = logging.getLogger(__name__)

DISCARDED = "Discarded"  # Convoy's status for deliveries that arrived while paused
_GOAL = {
    Action.PAUSE: (Outcome.PAUSED, EndpointStatus.PAUSED),
    Action.RESUME: (Outcome.RESUMED, EndpointStatus.ACTIVE),
}

# Looks at the bot's current hold under the lock: why the change must not go ahead, or "".
HoldCheck = Callable[[Hold | None], str]


class LockedChange:
    """Changes one endpoint at a time, in one project, and keeps the bot's holds in step."""

    def __init__(
        self, convoy: ConvoyClient, locks: EndpointLocks, holds: HoldStore, clock: Clock
    ) -> None:
        self._convoy = convoy
        self._locks = locks
        self._holds = holds
        self._clock = clock

    @property
    def project(self) -> str:
        return self._convoy.project

    async def run(
        self,
        action: Action,
        uid: str,
        label: str,
        intent: Intent,
        *,
        reenable_inactive: bool = False,
        check: HoldCheck | None = None,
    ) -> Change:
        """Pause or resume `uid` once, as `intent` asks; StaleHold if `check` objects."""
        async with self._locks.hold(self.project, uid, label) as lock:
            if check is not None:
                why = check(await self._holds.get(self.project, uid))
                if why:
                    raise StaleHold(why)
            before = await self._convoy.get_endpoint(uid)
            change = await self._apply(action, before, reenable_inactive)
            change = await self._book_hold(change, intent, lock)
        return await self._with_resume_summary(change)

    async def _apply(self, action: Action, before: Endpoint, reenable_inactive: bool) -> Change:
        """Decide from the status read under the lock; write only what moves it as asked."""
        write: Callable[[str], Awaitable[Endpoint]]
        if action is Action.PAUSE:
            if before.status is EndpointStatus.PAUSED:
                return Change(action, Outcome.ALREADY_PAUSED, before, before)
            if before.status is not EndpointStatus.ACTIVE:
                return Change(action, Outcome.INACTIVE, before, before)
            write = self._convoy.toggle_pause
        else:
            if before.status is EndpointStatus.ACTIVE:
                return Change(action, Outcome.ALREADY_ACTIVE, before, before)
            if before.status is not EndpointStatus.PAUSED and not reenable_inactive:
                return Change(action, Outcome.INACTIVE, before, before)
            write = self._convoy.activate
        done, wanted = _GOAL[action]
        try:
            after = await write(before.uid)
        except (ConvoyUnavailable, ConvoyBadResponse) as exc:
            # Convoy may have applied the write before failing: read, never write again.
            return await self._read_back(action, before, exc)
        if after.status is not wanted:
            return Change(
                action,
                Outcome.UNEXPECTED,
                before,
                after,
                f"Convoy reports the endpoint {after.status.value or 'in an unknown state'} "
                "after the request; someone may have changed it at the same moment.",
                "202",
            )
        return Change(action, done, before, after, write_status="202")

    async def _read_back(self, action: Action, before: Endpoint, cause: ConvoyError) -> Change:
        done, wanted = _GOAL[action]
        logger.warning("convoy %s of %s was ambiguous: %s", action, before.uid, cause.message)
        try:
            after = await self._convoy.get_endpoint(before.uid)
        except ConvoyError as again:
            return Change(
                action,
                Outcome.UNCONFIRMED,
                before,
                None,
                f"{cause.message} Reading the status back failed too ({again.message}); "
                "the bot did not retry. Check the endpoint with /convoy status.",
                cause.status,
            )
        outcome = done if after.status is wanted else Outcome.NOT_CHANGED
        return Change(
            action,
            outcome,
            before,
            after,
            f"{cause.message} The bot did not retry; status read back from Convoy: "
            f"{after.status.value or 'unknown'}.",
            cause.status,
        )

    async def _book_hold(self, change: Change, intent: Intent, lock: HeldLock) -> Change:
        """Record the pause the bot made, or end the hold of an endpoint that is active now.

        The change already happened in Convoy: if Redis fails here, the change is still
        reported, with a note of what the bot could not record.
        """
        try:
            return await self._book_hold_in_redis(change, intent, lock)
        except AccessStoreUnavailable:
            missed = (
                " No auto-resume was scheduled: resume it by hand."
                if intent.duration and change.outcome is Outcome.PAUSED
                else ""
            )
            note = f"The bot could not record this in its store (Redis unavailable).{missed}"
            return replace(change, detail=f"{change.detail} {note}".strip())

    async def _book_hold_in_redis(self, change: Change, intent: Intent, lock: HeldLock) -> Change:
        # The lock's release rides in the same round trip as the hold's own writes.
        endpoint = change.endpoint
        if change.outcome is Outcome.PAUSED:
            hold = await self._holds.record(
                project=self.project,
                uid=endpoint.uid,
                name=endpoint.label,
                actor=intent.actor,
                approver=intent.approver,
                reason=intent.reason,
                now=self._clock.now(),
                duration=intent.duration,
                channel_id=intent.channel_id,
                also=lock.release_in,
            )
            return replace(change, hold=hold)
        if endpoint.status is EndpointStatus.ACTIVE:
            released = await self._holds.release(self.project, endpoint.uid, also=lock.release_in)
            # Only a pause the bot made has a known start: Convoy records none.
            if change.outcome is Outcome.RESUMED and released is not None:
                summary = ResumeSummary(released.paused_since, self._clock.now(), True, None)
                return replace(change, resumed=summary)
        return change

    async def _with_resume_summary(self, change: Change) -> Change:
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


def same_hold(hold_id: str) -> HoldCheck:
    """A button made for one pause acts only while that pause is the bot's current one."""

    def check(current: Hold | None) -> str:
        if current is None or current.hold_id != hold_id:
            return (
                "That message's pause is over (the endpoint was resumed, or paused again "
                "since). Nothing was changed; use `/convoy status` to check."
            )
        return ""

    return check
