"""A replica's lease on the projects it polls, kept while it polls them.

A poll may take as long as Convoy's timeouts allow (up to 50 pages of endpoints, each
within CONVOY_TIMEOUT_SECONDS, then the reports in Slack), longer than any fixed lease a
crashed replica should be made to wait out. So the lease is short and renewed every third
of its length while the batch runs: another replica takes a project only once its poller
has stopped renewing (it crashed), and never polls it beside a slow one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from types import TracebackType

from bot.clock import Clock
from bot.errors import BotError
from bot.watch.store import WatchStore

logger = logging.getLogger(__name__)


class KeptLease:
    """The lease on one batch of projects, renewed in the background until the block ends."""

    def __init__(
        self, store: WatchStore, clock: Clock, scopes: list[str], lease: float, length: timedelta
    ) -> None:
        self._store = store
        self._clock = clock
        self._held = set(scopes)
        self._lease = lease
        self._length = length
        self._lock = asyncio.Lock()  # a renewal and a finish never cross
        self._renewing: asyncio.Task[None] | None = None

    def holds(self, scope: str) -> bool:
        """Whether this replica still holds the project's lease (else another may poll it:
        what this one saw is neither kept nor told). A lease not renewed in time (Redis was
        away) is over once its time has passed, whatever this replica last heard."""
        return scope in self._held and self._clock.now().timestamp() < self._lease

    async def finish(self, scope: str, next_due: datetime) -> None:
        """The project's poll is done: it is due again at `next_due`, and the lease is let go."""
        async with self._lock:
            if scope in self._held:
                await self._store.finish(scope, self._lease, next_due)
                self._held.discard(scope)

    async def __aenter__(self) -> KeptLease:
        self._renewing = asyncio.create_task(self._renew_until_done())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing

    async def _renew_until_done(self) -> None:
        while self._held:
            await asyncio.sleep(self._length.total_seconds() / 3)
            async with self._lock:
                until = round((self._clock.now() + self._length).timestamp(), 3)
                try:
                    kept = await self._store.renew(sorted(self._held), self._lease, until)
                except BotError:
                    # Redis is away: the lease stands until it runs out, and is renewed at
                    # the next turn if Redis is back by then.
                    logger.warning("watch: the poll lease could not be renewed")
                    continue
                lost = self._held - kept
                if lost:
                    logger.warning("watch: the poll lease of %d project(s) ran out", len(lost))
                self._held, self._lease = kept, until
