"""The locked change: lock → read → record → write once → read back → book the hold.

Convoy's `PUT .../pause` is a toggle, so a retried or doubled request un-pauses. Every change
the bot makes therefore runs here, under the endpoint's Redis lock, and keeps four rules:

- it reads first and writes at most once, only what moves the endpoint as asked;
- it writes only while it still holds the lock: recording the write in the in-flight journal
  checks the lock and renews it, in one step, right before the request is sent;
- a write whose answer is lost (a timeout, a 5xx, an unreadable reply) is never called "did
  not take effect" on a guess: if the status read back is not the one asked for, the change
  stays in doubt (the journal keeps other writers out) until a replica reads Convoy again
  after the settle window (`settle`), and the result is reported then;
- it never states a status it did not read (`Change.status_now` is None when unknown).

What it records once the result is known (the hold, and after a resume the count of
deliveries Convoy discarded meanwhile) is `bot.change.booking`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot import logs
from bot.change.booking import HoldBooking
from bot.change.holds import HoldStore
from bot.change.inflight import InFlightJournal
from bot.change.locks import EndpointLocks, HeldLock
from bot.change.model import Change, Intent, Outcome
from bot.clock import Clock
from bot.convoy import ConvoyClient
from bot.errors import (
    ConvoyBadResponse,
    ConvoyError,
    ConvoyUnavailable,
    EndpointNotFound,
    LockLost,
    StaleHold,
)
from bot.models import Action, Endpoint, EndpointStatus, FlightState, Hold, InFlight

logger = logging.getLogger(__name__)

_GOAL = {
    Action.PAUSE: (Outcome.PAUSED, EndpointStatus.PAUSED),
    Action.RESUME: (Outcome.RESUMED, EndpointStatus.ACTIVE),
}
Write = Callable[[str, str], Awaitable[Endpoint]]

# Looks at the bot's current hold under the lock: why the change must not go ahead, or None.
HoldCheck = Callable[[Hold | None], StaleHold | None]


def _epoch(moment: datetime) -> str:
    return f"{moment.timestamp():.3f}"


def _clock_time(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S UTC")


class LockedChange:
    """Changes one endpoint at a time, in one project, and keeps the bot's holds in step."""

    def __init__(
        self,
        convoy: ConvoyClient,
        locks: EndpointLocks,
        holds: HoldStore,
        journal: InFlightJournal,
        clock: Clock,
        *,
        settle_after: timedelta,
    ) -> None:
        self._convoy = convoy
        self._locks = locks
        self._holds = holds
        self._journal = journal
        self._clock = clock
        self.settle_after = settle_after
        self._booking = HoldBooking(convoy, holds, journal, clock)

    @property
    def project(self) -> str:
        """The project's scope: the key of its locks, holds and journal in Redis."""
        return self._convoy.project.scope

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
        """Pause or resume `uid` once, as `intent` asks; StaleHold if `check` objects.

        `reenable_inactive`: resume an endpoint Convoy disabled (confirmed by the caller); it
        never resumes a paused one, which that confirmation was not about.
        """
        logs.note(endpoint=uid)
        async with self._locks.hold(self.project, uid, label) as lock:
            if check is not None:
                stale = check(await self._holds.get(self.project, uid))
                if stale is not None:
                    raise stale
            before = await self._convoy.get_endpoint(uid)
            planned = self._plan(action, before, reenable_inactive)
            if isinstance(planned, Change):
                change = planned
            else:
                change = await self._write(action, before, planned, intent, lock)
            if not change.in_doubt:
                change = await self._booking.book(change, intent, lock, self._clock.now())
        return await self._booking.with_resume_summary(change)

    async def settle(self, record: InFlight) -> Change | None:
        """Read Convoy for a write whose answer was lost, and book what it shows; None when
        Convoy cannot be read yet (the record waits another settle window) or someone else
        settled it. Never writes."""
        async with self._locks.hold(self.project, record.uid, record.name, settling=True) as lock:
            current = await self._journal.get(self.project, record.uid)
            if current is None or current.change_id != record.change_id:
                return None
            before = Endpoint(
                uid=record.uid, name=record.name, status=EndpointStatus(record.before)
            )
            done, wanted = _GOAL[record.action]
            after: Endpoint | None
            try:
                read = await self._convoy.get_endpoint(record.uid)
            except EndpointNotFound:
                after = None
                outcome, detail = Outcome.NOT_CHANGED, "The endpoint no longer exists in Convoy."
            except ConvoyError as exc:
                later = self._clock.now() + self.settle_after
                await self._journal.defer(current, later, note=f"{current.note} {exc.message}")
                logger.warning(
                    "cannot settle the %s of %s yet: %s", record.action, record.uid, exc.message
                )
                return None
            else:
                after, took = read, read.status is wanted
                outcome = done if took else Outcome.NOT_CHANGED
                status = read.status.value or "unknown"
                detail = (
                    f"{current.note} Read again at {_clock_time(self._clock.now())}: {status}, "
                    f"so the {record.action.value} "
                    + ("took effect." if took else "did not take effect.")
                ).strip()
            change = Change(
                record.action, outcome, before, after, detail, in_flight=current, settled=True
            )
            if current.state is FlightState.ANSWERED:
                # Booked already by its writer, who stopped before telling it: tell it now,
                # with the pause the writer recorded (its buttons name that hold).
                await self._journal.answered(current, self._clock.now())
                hold = await self._holds.get(self.project, record.uid)
                return replace(change, hold=hold if outcome is Outcome.PAUSED else None)
            intent = Intent(
                record.actor,
                record.reason,
                record.duration,
                record.approver,
                record.channel_id,
                change_id=record.change_id,
                request_id=record.request_id,
            )
            change = await self._booking.book(change, intent, lock, record.started)
        return await self._booking.with_resume_summary(change)

    async def _write(
        self, action: Action, before: Endpoint, write: Write, intent: Intent, lock: HeldLock
    ) -> Change:
        """Record, then send the one write; an answer lost stays in doubt, never a guess."""
        now = self._clock.now()
        record = InFlight(
            change_id=intent.change_id or f"bot-{now.timestamp():.6f}-{before.uid}",
            project=self.project,
            uid=before.uid,
            name=before.label,
            action=action,
            before=before.status.value,
            actor=intent.actor,
            approver=intent.approver,
            reason=intent.reason[:500],
            duration_s=str(int(intent.duration.total_seconds())) if intent.duration else "",
            channel_id=intent.channel_id,
            request_id=intent.request_id,
            started_at=_epoch(now),
            # If this replica stops before it settles the write, another one settles it then:
            # after the write's deadline and a settle window, never while it may still land.
            settle_at=_epoch(
                now + timedelta(seconds=self._convoy.deadline_seconds) + self.settle_after
            ),
        )
        if not await self._journal.begin(record, lock.key, lock.token, lock.ttl_ms):
            raise LockLost(
                f"The bot's lock on *{before.label}* ran out while Convoy was slow, so it sent "
                "nothing: someone else may be changing it. Check `/convoy status` first."
            )
        done, wanted = _GOAL[action]
        try:
            after = await write(before.uid, record.change_id)
        except (ConvoyUnavailable, ConvoyBadResponse) as exc:
            return await self._answer_lost(action, before, record, exc)
        except ConvoyError:
            # A clear refusal (400, 401, 403, 429): Convoy applied nothing.
            await self._journal.finish(record)
            raise
        except BaseException:
            # Stopped mid-write (shutdown after the grace): the record stays, and a replica
            # settles it by reading Convoy once the write can no longer land.
            logger.warning(
                "stopped during the %s of %s; the next replica settles it after %s UTC",
                action.value,
                before.uid,
                _clock_time(record.settles_at),
            )
            raise
        if after.status is not wanted:
            return Change(
                action,
                Outcome.UNEXPECTED,
                before,
                after,
                f"Convoy reports the endpoint {after.status.value or 'in an unknown state'} "
                "after the request; someone may have changed it at the same moment.",
                "202",
                in_flight=record,
            )
        return Change(action, done, before, after, write_status="202", in_flight=record)

    async def _answer_lost(
        self, action: Action, before: Endpoint, record: InFlight, cause: ConvoyError
    ) -> Change:
        done, wanted = _GOAL[action]
        logger.warning("convoy %s of %s got no clear answer: %s", action, before.uid, cause.message)
        after: Endpoint | None
        try:
            after = await self._convoy.get_endpoint(before.uid)
            read = f"status read back from Convoy: {after.status.value or 'unknown'}"
        except ConvoyError as again:
            after, read = None, f"reading the status back failed too ({again.message})"
        if after is not None and after.status is wanted:
            detail = f"{cause.message} The bot did not retry; {read}."
            return Change(action, done, before, after, detail, cause.status, in_flight=record)
        check_at = self._clock.now() + self.settle_after
        note = f"{cause.message} The bot did not retry; {read}."
        record = await self._journal.defer(record, max(check_at, record.settles_at), note=note)
        detail = (
            f"{note} Convoy may still apply the {action.value}: the bot sends nothing more, reads "
            f"the status again at {_clock_time(record.settles_at)} and reports the result."
        )
        return Change(
            action, Outcome.UNCONFIRMED, before, after, detail, cause.status, in_flight=record
        )

    def _plan(self, action: Action, before: Endpoint, reenable_inactive: bool) -> Change | Write:
        """What the status read under the lock calls for: nothing (a Change saying why), or
        the one write that moves it as asked."""
        status = before.status
        if action is Action.PAUSE:
            if status is EndpointStatus.PAUSED:
                return Change(action, Outcome.ALREADY_PAUSED, before, before)
            if status is not EndpointStatus.ACTIVE:
                return Change(action, Outcome.INACTIVE, before, before)
            return self._convoy.toggle_pause
        if status is EndpointStatus.ACTIVE:
            return Change(action, Outcome.ALREADY_ACTIVE, before, before)
        if reenable_inactive and status is not EndpointStatus.INACTIVE:
            # Confirmed for an endpoint Convoy disabled; it is paused now, by someone: that
            # pause is theirs to end, not this confirmation's.
            return Change(action, Outcome.MOVED_ON, before, before)
        if status is not EndpointStatus.PAUSED and not reenable_inactive:
            return Change(action, Outcome.INACTIVE, before, before)
        return self._convoy.activate


def same_hold(hold_id: str) -> HoldCheck:
    """A button or request made for one pause acts only while that pause is the current one
    ("" for a request made when the bot held no pause: only while it still holds none)."""

    def check(current: Hold | None) -> StaleHold | None:
        if (current.hold_id if current else "") == hold_id:
            return None
        return StaleHold(
            "That message's pause is over (the endpoint was resumed, or paused again "
            "since). Nothing was changed; use `/convoy status` to check.",
            record_gone=current is None,
        )

    return check
