"""The App Home board: what one person may act on or should know, in each project they can see.

Every project is read with the person's own role in it, so a project where they hold no role
adds nothing to their board: not its requests, not its pauses, not its failing endpoints.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from bot.access.roles import Role, RoleStore
from bot.approvals.store import ApprovalRequest, ApprovalStore
from bot.change.holds import HoldStore
from bot.clock import Clock
from bot.models import Hold
from bot.project import Project
from bot.projects.catalog import ProjectCatalog
from bot.watch.store import Seen, WatchStore


@dataclass(frozen=True)
class FailingEndpoint:
    """An endpoint the watcher sees in a failing episode."""

    uid: str
    seen: Seen


@dataclass(frozen=True)
class ProjectBoard:
    """One project as the person sees it with their role there."""

    project: Project
    role: Role
    to_decide: list[ApprovalRequest]  # others' requests, when the person is an approver
    mine: list[ApprovalRequest]  # the person's own requests still waiting
    paused: list[Hold]  # endpoints paused through the bot, with their timers
    failing: list[FailingEndpoint]


@dataclass(frozen=True)
class Board:
    """Everything one person's Home tab shows; `admins` are whom to ask when it is empty."""

    user_id: str
    projects: list[ProjectBoard]
    admins: tuple[str, ...]
    at: datetime

    def fingerprint(self) -> str:
        """What the board shows, in short, without the time it was built: two boards with
        the same fingerprint need no second publish. A failing endpoint counts by its uid, not
        its rate, so a rate moving each poll does not republish every board."""
        shown = [
            [
                p.project.scope,
                p.role.label,
                [r.id for r in p.to_decide],
                [r.id for r in p.mine],
                [(h.hold_id, h.resume_at, h.actor) for h in p.paused],
                [f.uid for f in p.failing],
            ]
            for p in self.projects
        ]
        text = json.dumps([shown, self.admins], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class SharedState:
    """The projects, pauses, waiting requests and failing endpoints every board is cut from;
    each board is then filtered by its person's role per project."""

    projects: list[Project]
    holds: list[Hold]
    waiting: dict[str, list[ApprovalRequest]]  # by project scope
    failing: dict[str, list[FailingEndpoint]]  # by project scope
    at: datetime

    def seen_by(self, user_id: str, project: Project, role: Role) -> ProjectBoard:
        waiting = self.waiting[project.scope]
        # An approver decides others' requests, never their own (as bot.approvals.deciding).
        to_decide = [r for r in waiting if role >= Role.APPROVER and r.requester != user_id]
        mine = [r for r in waiting if r.requester == user_id]
        paused = [hold for hold in self.holds if hold.project == project.scope]
        return ProjectBoard(project, role, to_decide, mine, paused, self.failing[project.scope])


class HomeBoard:
    """Builds a person's board from the shared stores, filtered by their role per project."""

    def __init__(
        self,
        catalog: ProjectCatalog,
        roles: RoleStore,
        *,
        approvals: ApprovalStore,
        holds: HoldStore,
        watch: WatchStore,
        clock: Clock,
    ) -> None:
        self._catalog = catalog
        self._roles = roles
        self._approvals = approvals
        self._holds = holds
        self._watch = watch
        self._clock = clock

    async def shared(self) -> SharedState:
        """What every board is built from, read once for a round over many boards."""
        projects = await self._catalog.projects()
        now = self._clock.now()
        waiting, failing = {}, {}
        for project in projects:
            waiting[project.scope] = await self._approvals.pending(project.scope, now)
            failing[project.scope] = [
                FailingEndpoint(uid, state)
                for uid, state in sorted((await self._watch.seen(project.scope)).items())
                if state.failing
            ]
        return SharedState(projects, await self._holds.all(), waiting, failing, now)

    async def board(self, user_id: str, shared: SharedState | None = None) -> Board:
        """One person's board; from `shared` when a round has read it already."""
        state = shared or await self.shared()
        boards = []
        for project in state.projects:
            role = await self._roles.effective_role(user_id, project.scope)
            if role >= Role.VIEWER:
                boards.append(state.seen_by(user_id, project, role))
        admins = () if boards else await self._admins()
        return Board(user_id, boards, admins, state.at)

    async def _admins(self) -> tuple[str, ...]:
        """Who can grant a role anywhere: admins of every scope and the bootstrap admins."""
        grants = await self._roles.grants()
        named = [g.user_id for g in grants if g.role is Role.ADMIN and not g.is_group]
        return tuple(dict.fromkeys([*self._roles.bootstrap_admins, *named]))[:5]
