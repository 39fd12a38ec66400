"""What an operator sees of a running replica over HTTP: `/status` (Slack, each Convoy
project, background work, the watch) and `/metrics`' gauges of what is held open; never a secret."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot import redis_keys, tenancy
from bot.compose.infrastructure import Infrastructure
from bot.compose.runtimes import ProjectRuntimes
from bot.errors import BotError
from bot.store import STORE_ERRORS, Store
from bot.tenancy import Workspace
from bot.watch.round import health_report

# Redis failing, or the workspaces' list unreadable: the gauges stay as they were.
_UNREADABLE: tuple[type[Exception], ...] = (*STORE_ERRORS, BotError)

# How old the Slack part of /status may be: auth.test is asked at most this often for it.
SLACK_STATE_MAX_AGE = timedelta(seconds=30)


async def status_report(infra: Infrastructure, runtimes: ProjectRuntimes) -> dict[str, object]:
    """The body of `/status`: what this replica sees, per project, without secrets."""
    report: dict[str, object] = dict(await infra.readiness())
    if infra.installations is not None:
        report["workspaces"] = await _workspaces_status(infra, runtimes)
    else:
        slack, convoy = await asyncio.gather(
            infra.slack_identity.recent(SLACK_STATE_MAX_AGE), runtimes.convoy_status()
        )
        report["slack"] = slack.report()
        report["convoy"] = convoy
        report.update(await _work_status(infra))
    lost = infra.watch.seen
    report["clock"] = infra.clock.now().isoformat(timespec="seconds")
    report["redis_data_lost"] = {
        "times": lost.times,
        "last": lost.last.isoformat(timespec="seconds") if lost.last else None,
    }
    return report


async def _workspaces_status(infra: Infrastructure, runtimes: ProjectRuntimes) -> dict[str, object]:
    """Serving many workspaces: each one's installation, projects and background work."""
    assert infra.installations is not None
    try:
        installed = {i.workspace.key for i in await infra.installations.installed()}
        known = await infra.installations.known_workspaces()
    except BotError:
        return {}
    report: dict[str, object] = {}
    for workspace in known:
        with tenancy.within(workspace):
            part: dict[str, object] = {"installed": workspace.key in installed}
            part["convoy"] = await runtimes.convoy_status()
            part.update(await _work_status(infra))
        report[workspace.key] = part
    return report


async def _work_status(infra: Infrastructure) -> dict[str, object]:
    """The background work and the watch of the workspace served."""
    report: dict[str, object] = {}
    try:
        counts = await _open_work(infra.redis)
        in_flight, timers = counts["writes"], counts["timers"]
        report["background"] = {"writes_unsettled": in_flight, "timers": timers}
    except STORE_ERRORS:
        report["background"] = {}
    try:
        aliases = {p.scope: p.alias for p in await infra.catalog.projects()}
        report["watch"] = await health_report(infra.stores.watch, aliases)
    except BotError:
        report["watch"] = {}
    return report


async def refresh_gauges(infra: Infrastructure) -> None:
    """This replica's work in progress, and what the bot holds open, read from Redis when
    /metrics is scraped (so every replica reports the same numbers); those are left as they
    were when Redis does not answer."""
    metrics = infra.metrics
    metrics.work_in_progress.set(infra.tasks.pending)
    metrics.work_queued.set(infra.tasks.queued)
    holds = timers = approvals = 0
    try:
        for workspace in await _workspaces(infra):
            with tenancy.within(workspace):
                counts = await _open_work(infra.redis)
                holds, timers = holds + counts["holds"], timers + counts["timers"]
                pattern = redis_keys.open_approvals_pattern()
                async for _ in infra.redis.scan_iter(match=pattern, count=500):
                    approvals += 1
    except _UNREADABLE:
        return
    metrics.open_holds.set(holds)
    metrics.open_timers.set(timers)
    metrics.open_approvals.set(approvals)


async def _workspaces(infra: Infrastructure) -> list[Workspace | None]:
    """Every workspace with state; [None] for the one of a single bot token."""
    if infra.installations is None:
        return [None]
    return list(await infra.installations.known_workspaces())


async def _open_work(redis: Store) -> dict[str, int]:
    """Holds, timers and writes to settle, summed over the shards of their indexes (in one
    round trip per Redis node)."""
    async with redis.pipeline(transaction=False) as pipe:
        for shard in range(redis_keys.SHARDS):
            pipe.scard(redis_keys.holds_index(shard))
            pipe.zcard(redis_keys.resume_timers(shard))
            pipe.zcard(redis_keys.in_flight_due(shard))
        found = await pipe.execute()
    return {
        "holds": sum(found[0::3]),
        "timers": sum(found[1::3]),
        "writes": sum(found[2::3]),
    }
