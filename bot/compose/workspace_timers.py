"""Serving many workspaces, each workspace's due work (timers, settling, the watch, App Home
refresh) runs in a scheduler of its own, in that workspace (bot.tenancy).

The list of workspaces with state is read every few seconds: a new install gets its
scheduler, a purged workspace's stops. An uninstalled workspace keeps its scheduler until it
is purged: a timed pause still resumes on time (Convoy needs no Slack token); only its
reports to Slack fail, and are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot import tenancy
from bot.errors import BotError
from bot.timers.scheduler import Scheduler
from bot.workspaces.installations import RedisInstallationStore

logger = logging.getLogger(__name__)

LIST_EVERY_SECONDS = 5.0


@dataclass
class _Running:
    task: asyncio.Task[None]
    stop: asyncio.Event


class WorkspaceSchedulers:
    """One scheduler per workspace with state, started and stopped as the list changes."""

    def __init__(
        self,
        installations: RedisInstallationStore,
        build: Callable[[], Scheduler],
        every_seconds: float = LIST_EVERY_SECONDS,
    ) -> None:
        self._installations = installations
        self._build = build
        self._every = every_seconds
        self._running: dict[str, _Running] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._follow_the_list()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._every)
        for ref in list(self._running):
            await self._stop(ref)

    async def _follow_the_list(self) -> None:
        try:
            known = {w.ref: w for w in await self._installations.known_workspaces()}
        except BotError:
            return  # Redis is down: each scheduler already says so; the list is read again
        for ref, workspace in known.items():
            if ref not in self._running:
                with tenancy.within(workspace):
                    # Built and started in the workspace: its task, and every task it
                    # starts, serve that workspace only.
                    stop = asyncio.Event()
                    task = asyncio.create_task(self._build().run(stop))
                self._running[ref] = _Running(task, stop)
                logger.info("serving the due work of workspace %s", workspace.key)
        for ref in [r for r in self._running if r not in known]:
            await self._stop(ref)

    async def _stop(self, ref: str) -> None:
        running = self._running.pop(ref)
        running.stop.set()
        with contextlib.suppress(Exception):
            await running.task
