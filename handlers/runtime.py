"""A project's use cases and the Slack-facing pieces that report for it, found by scope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.compose.cases import UseCases
from bot.project import Project
from handlers.announcer import BoundCopies
from handlers.outcomes import Reporter
from handlers.settled import SettledReports
from handlers.timers import TimerReports
from handlers.watch_cards import WatchCards


@dataclass(frozen=True)
class ProjectRuntime:
    """Everything that acts and reports in one project."""

    cases: UseCases
    reporter: Reporter
    timer_reports: TimerReports
    settled_reports: SettledReports
    copies: BoundCopies
    watch_cards: WatchCards

    @property
    def project(self) -> Project:
        return self.cases.project


class Runtimes(Protocol):
    """The projects' runtimes (built by the composition root, bot.compose.runtimes)."""

    async def for_project(self, project: Project) -> ProjectRuntime: ...

    async def for_scope(self, scope: str) -> ProjectRuntime | None: ...

    async def legacy(self) -> ProjectRuntime | None:
        """The project of buttons posted before the bot served several: the one the
        CONVOY_* variables name (or the only one)."""
        ...
