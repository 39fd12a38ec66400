"""The watch round the scheduler runs: poll each bound project that is due, once across all
replicas, compare with what was seen last time, and hand what changed to the reporter.

Convoy calls come from the project's own budget: one list call per page per interval, never
two polls of a project at once (the lease), and after a 429 nothing until its Retry-After.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.errors import BotError, ConvoyRateLimited
from bot.failure_rates import PeriodRate, RateSource, rate_of
from bot.metrics import Metrics
from bot.models import Endpoint, EndpointStatus
from bot.watch.lease import KeptLease
from bot.watch.rules import Poll, Thresholds, WatchEvent, assess, deleted
from bot.watch.store import LEASE, Health, Seen, WatchStore

logger = logging.getLogger(__name__)

# Without the breaker's rates: the period failure rate over this window, asked this often.
PERIOD_WINDOW = timedelta(minutes=15)
PERIOD_EVERY = timedelta(minutes=5)
TELL_AFTER = 3  # failed polls in a row before the bound channels hear the watch stopped


class EndpointSource(Protocol):
    async def watched(self) -> set[str]:
        """The scopes of the projects bound to at least one channel."""
        ...

    async def endpoints_of(self, scope: str) -> tuple[list[Endpoint], bool] | None:
        """The project's endpoints and whether that is all of them (more than the watcher
        reads: not); None when the project is not served any more."""
        ...

    async def period_rates(
        self, scope: str, uids: list[str], start: datetime, end: datetime
    ) -> list[PeriodRate]:
        """Convoy's period failure rates of these endpoints in [start, end]."""
        ...


@dataclass(frozen=True)
class WatchRules:
    interval: timedelta
    thresholds: Thresholds
    lease: timedelta = LEASE  # renewed while polling (bot.watch.lease)


@dataclass(frozen=True)
class Trouble:
    """The watch of a project stopped working (`problem`, for `failures` polls in a row), or
    works again (`problem` empty): said once each in its bound channels."""

    problem: str = ""
    failures: int = 0


Report = Callable[[str, list[WatchEvent], Trouble | None], Awaitable[None]]


class WatchRound:
    """One round: which projects are watched, lease the due ones, poll, compare, report."""

    def __init__(
        self,
        store: WatchStore,
        source: EndpointSource,
        clock: Clock,
        rules: WatchRules,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._source = source
        self._clock = clock
        self._rules = rules
        self._metrics = metrics

    async def run_due(self, report: Report) -> int:
        """Poll every project whose time has come; how many were polled."""
        now = self._clock.now()
        await self._store.watch_only(await self._source.watched(), now)
        scopes, lease = await self._store.claim_due(now, self._rules.lease)
        if not scopes:
            return 0
        async with KeptLease(self._store, self._clock, scopes, lease, self._rules.lease) as kept:
            for scope in scopes:
                await self._poll_and_report(scope, now, kept, report)
        return len(scopes)

    async def _poll_and_report(
        self, scope: str, now: datetime, kept: KeptLease, report: Report
    ) -> None:
        next_due = now + self._rules.interval
        previous = (await self._store.health()).get(scope)
        trouble: Trouble | None = None
        try:
            events = await self.poll(scope, now, kept.holds)
        except BotError as exc:
            self._metrics.watch_polls.labels(scope, "failed").inc()
            next_due = max(next_due, _after_rate_limit(exc, now))
            events, trouble = [], await self._failed(scope, now, exc.message, previous)
        else:
            self._metrics.watch_polls.labels(scope, "ok").inc()
            if previous is not None and previous.told:
                trouble = Trouble()  # it works again: say so where its failure was said
        if events is None or not kept.holds(scope):
            return  # its lease ran out: another replica may be polling it, and tells it
        try:
            if events or trouble:
                await report(scope, events, trouble)
        except Exception as exc:  # noqa: BLE001  # one project's posts never stop another's
            logger.error("watch report failed: %s", type(exc).__name__)
        await kept.finish(scope, next_due)

    async def poll(
        self, scope: str, now: datetime, leased: Callable[[str], bool]
    ) -> list[WatchEvent] | None:
        """Read the project's endpoints, keep what was seen, and what to tell; None when the
        lease ran out meanwhile (nothing is kept: the replica polling it now compares with
        what was seen before, and tells what changed)."""
        listed = await self._source.endpoints_of(scope)
        if listed is None:
            return []
        endpoints, complete = listed
        source = rate_source(endpoints)
        if source is RateSource.NONE:
            endpoints, source = await self._with_period_rates(scope, endpoints, now)
        before = await self._store.seen(scope)
        snoozed = await self._store.snoozed(scope, now)
        changed = [
            e.uid for e in endpoints if e.uid in before and before[e.uid].status != e.status.value
        ]
        writes = await self._store.bot_writes(scope, changed)
        seen: dict[str, Seen] = {}
        events: list[WatchEvent] = []
        for endpoint in endpoints:
            uid, write = endpoint.uid, writes.get(endpoint.uid)
            previous = before.get(uid)
            if write is not None and write.unsettled:
                # The bot is changing it, or a write of its may still land: judge it once
                # that is settled, so a late-landing write is never taken for a person's.
                seen[uid] = previous or Seen(status="")
                continue
            outside = (
                write is not None
                and previous is not None
                and not write.explains(endpoint.status.value, previous.since)
            )
            poll = Poll(previous, now.timestamp(), uid in snoozed, outside)
            seen[uid], event = assess(poll, endpoint, self._rules.thresholds)
            if event is not None:
                events.append(event)
        # Past the pages it reads, the watcher cannot tell a deleted endpoint from an unread one.
        gone = set(before) - set(seen) if complete else set()
        events += [deleted(before[uid], uid) for uid in sorted(gone) if before[uid].status]
        if not leased(scope):
            return None
        await self._store.save_seen(scope, seen, gone)
        health = Health(at=now.timestamp(), endpoints=len(endpoints), source=source.value)
        await self._store.set_health(scope, health)
        return events

    async def _with_period_rates(
        self, scope: str, endpoints: list[Endpoint], now: datetime
    ) -> tuple[list[Endpoint], RateSource]:
        """Convoy's breaker sends no rates (off, or unlicensed): the share of failed
        deliveries in the last PERIOD_WINDOW instead, asked at most every PERIOD_EVERY (one
        call per RATE_IDS active endpoints); between asks, the last answer holds. If Convoy
        will not say, the watch goes on with changes of status alone."""
        at, rates = await self._store.period_rates(scope)
        if now.timestamp() - at >= PERIOD_EVERY.total_seconds():
            active = [e.uid for e in endpoints if e.status is EndpointStatus.ACTIVE]
            try:
                fetched = await self._source.period_rates(scope, active, now - PERIOD_WINDOW, now)
            except BotError as exc:
                logger.warning("period failure rates failed: %s", exc.message)
                fetched = []
            rates = {r.uid: r.period_failure_rate for r in fetched}
            await self._store.save_period_rates(scope, now.timestamp(), rates)
        if all(rate is None for rate in rates.values()):
            return endpoints, RateSource.NONE  # nothing delivered, or Convoy would not say
        rated = [e.model_copy(update={"period_failure_rate": rates.get(e.uid)}) for e in endpoints]
        return rated, RateSource.DELIVERIES

    async def _failed(
        self, scope: str, now: datetime, problem: str, previous: Health | None
    ) -> Trouble | None:
        """Count the failed poll; the trouble to tell, once, when it has lasted TELL_AFTER
        polls (one failure may be a blip)."""
        failures = (previous.failures if previous else 0) + 1
        told = previous is not None and previous.told
        logger.warning("watching a project failed (%d in a row): %s", failures, problem)
        tell = not told and failures >= TELL_AFTER
        health = Health(at=now.timestamp(), problem=problem, failures=failures, told=told or tell)
        await self._store.set_health(scope, health)
        return Trouble(problem, failures) if tell else None


async def health_report(store: WatchStore, aliases: dict[str, str]) -> dict[str, object]:
    """Per watched project (by alias): its last poll, and its problem while it has one."""
    report: dict[str, object] = {}
    for scope, health in (await store.health()).items():
        if scope in aliases:
            report[aliases[scope]] = {
                "last_poll": datetime.fromtimestamp(health.at, UTC).isoformat(timespec="seconds"),
                "ok": not health.problem,
                "problem": health.problem,
                "failed_polls_in_a_row": health.failures,
                "endpoints": health.endpoints,
            }
    return report


def rate_source(endpoints: list[Endpoint]) -> RateSource:
    """The circuit breaker's when Convoy sent any of its rates (it fills them only when its
    breaker is on and licensed), else none: the watch then sees status changes only."""
    if any(rate_of(e).source is RateSource.BREAKER for e in endpoints):
        return RateSource.BREAKER
    return RateSource.NONE


def _after_rate_limit(exc: BotError, now: datetime) -> datetime:
    """When Convoy said to come back, after a 429 (now, for any other failure)."""
    if isinstance(exc, ConvoyRateLimited) and exc.retry_after:
        return now + timedelta(seconds=exc.retry_after)
    return now
