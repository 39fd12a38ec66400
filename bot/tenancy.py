"""Whose state a piece of work touches: one Slack workspace, or one Enterprise Grid org.

With one bot token (the default) there is one workspace and no choice to make: every key
keeps its plain `convoy-bot:` prefix. Installed through OAuth in many workspaces, the bot
serves each in a context naming it (set from the signed request, or by the scheduler for
that workspace's due work), and every Redis key is built under that workspace's prefix
(`bot.redis_keys`). Work that never chose a workspace has no keys at all: building one
raises `NoWorkspace`, so a path that forgot to say whose state it touches fails closed
instead of reading or writing someone else's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_ID = re.compile(r"^[A-Z0-9]{1,32}$")


class NoWorkspace(RuntimeError):
    """Work in a bot serving many workspaces touched state without naming whose."""


@dataclass(frozen=True)
class Workspace:
    """One installation's tenant. `org_wide`: installed on a whole Enterprise Grid org, whose
    workspaces share one state (keyed by the org); else keyed by the workspace. `team_id` is
    the workspace a request came from (inside an org-wide install it may be any of the org's;
    the scheduler's own work knows none)."""

    enterprise_id: str = ""
    team_id: str = ""
    org_wide: bool = False

    def __post_init__(self) -> None:
        for value in (self.enterprise_id, self.team_id):
            if value and not _ID.match(value):
                raise ValueError("a Slack team or enterprise id is letters and digits")
        if not self.key:
            raise ValueError("a workspace needs its team id (or, org-wide, its enterprise id)")

    @property
    def key(self) -> str:
        """What its state is kept under: the org for an org-wide install, else the team."""
        return self.enterprise_id if self.org_wide else self.team_id

    @property
    def installation(self) -> Workspace:
        """The installation serving it: an org-wide one names no workspace of the org."""
        return Workspace(self.enterprise_id, "", True) if self.org_wide else self

    @property
    def ref(self) -> str:
        """Its installation's ids in one string (`E…|T…|org`), as the list of workspaces
        keeps them."""
        return f"{self.enterprise_id}|{self.team_id}|{'org' if self.org_wide else ''}"

    @classmethod
    def from_ref(cls, ref: str) -> Workspace:
        enterprise_id, _, rest = ref.partition("|")
        team_id, _, org = rest.partition("|")
        return cls(enterprise_id, team_id, org == "org")


# None: one workspace (the bot token's), plain keys. _UNCHOSEN: many, none chosen yet.
_UNCHOSEN = object()
_current: ContextVar[Workspace | object | None] = ContextVar("convoy_bot_workspace", default=None)


def serve_many() -> None:
    """From here on (this task and every task it starts), work must name its workspace."""
    _current.set(_UNCHOSEN)


def current() -> Workspace | None:
    """The workspace this work serves; None with one bot token. NoWorkspace when the bot
    serves many and this work named none."""
    value = _current.get()
    if value is _UNCHOSEN:
        raise NoWorkspace("work in a multi-workspace bot touched state without a workspace")
    return value if isinstance(value, Workspace) else None


def current_key() -> str:
    """The key of the workspace this work serves ("" with one bot token): what per-workspace
    caches and counts in a process are kept under. NoWorkspace as `current`."""
    workspace = current()
    return workspace.key if workspace is not None else ""


def enter(workspace: Workspace) -> None:
    """This task (and the tasks it starts) serve `workspace` until it ends: for a request,
    whose task ends with it."""
    _current.set(workspace)


@contextmanager
def within(workspace: Workspace | None) -> Iterator[None]:
    """Serve `workspace` for the block only (the scheduler, a CLI command); None (the one
    workspace of a bot token) leaves the context as it is."""
    if workspace is None:
        yield
        return
    token = _current.set(workspace)
    try:
        yield
    finally:
        _current.reset(token)
