"""The projects this bot serves right now, and which one a command acts on.

The catalog re-reads the stored projects every few seconds, so `convoy-bot projects add`
takes effect without a restart. A command acts on the project it names (`--project ALIAS`),
else on its channel's bound project, else on the only project; with several and none named
or bound, the caller is asked which (and nothing changes until they answer).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, SecretStr

from bot import redis_keys, tenancy
from bot.access.roles import Role, RoleStore
from bot.errors import AccessStoreUnavailable, InvalidInput
from bot.project import KeyedProject, Project
from bot.projects.bindings import ChannelBindings
from bot.projects.store import ProjectStore
from bot.store import Store, failing_closed

REFRESH_SECONDS = 5.0
PENDING_TTL_SECONDS = 15 * 60


class PendingCommand(BaseModel):
    """A command typed where the project is not known yet: run when the caller picks one."""

    user_id: str
    channel_id: str
    text: str


@dataclass(frozen=True)
class AskWhich:
    """Several projects, none named or bound: the caller picks (the command is kept)."""

    command_id: str
    projects: tuple[Project, ...]


class ProjectCatalog:
    """The CONVOY_* variables' project and the stored ones, by alias, scope or id.

    Listing needs no secret key (the CLI lists projects without one); a project's API key is
    decrypted only when its Convoy client is built."""

    def __init__(
        self, store: ProjectStore, from_env: KeyedProject | None, bindings: ChannelBindings
    ) -> None:
        self._store = store
        self._from_env = from_env
        self._bindings = bindings
        # Per workspace ("" with one): the projects last read, and when.
        self._cached: dict[str, tuple[list[Project], float]] = {}

    async def projects(self) -> list[Project]:
        """Every project of the workspace served (the stored ones re-read every few
        seconds); the environment's project wins over a stored one of the same alias."""
        whose = tenancy.current_key()
        cached, read_at = self._cached.get(whose, ([], float("-inf")))
        if time.monotonic() - read_at > REFRESH_SECONDS:
            env = [self._from_env.project] if self._from_env else []
            try:
                stored = await self._store.projects()
            except AccessStoreUnavailable:
                # Redis is down: the projects last read still name things right (every
                # command then fails closed on its role check, with Redis's own message).
                if read_at > float("-inf") or env:
                    return cached if read_at > float("-inf") else env
                raise  # never read and none from the environment: "no project" would be wrong
            taken = {p.alias for p in env}
            cached = env + [p for p in stored if p.alias not in taken]
            self._cached[whose] = (cached, time.monotonic())
        return cached

    async def key_of(self, project: Project) -> SecretStr:
        """The project's API key; KeyBoxError when a stored one cannot be decrypted."""
        if self._from_env is not None and self._from_env.project == project:
            return self._from_env.api_key
        return await self._store.key_of(project.alias)

    async def find(self, name: str) -> Project | None:
        """A project by alias, by its Convoy project id, or by its scope."""
        for project in await self.projects():
            if name in (project.alias, project.project_id, project.scope):
                return project
        return None

    async def named(self, name: str, shown: Sequence[Project] | None = None) -> Project:
        """The project of that name; else an error listing `shown` (those the caller may
        know of: a chat user is told only the projects they have a role in), or all."""
        found = await self.find(name)
        if found is None:
            listed = await self.projects() if shown is None else shown
            aliases = ", ".join(f"`{p.alias}`" for p in listed) or "none"
            yours = "" if shown is None else " you have a role in"
            raise InvalidInput(f"There is no project `{name[:40]}`. Projects{yours}: {aliases}.")
        return found

    async def from_env(self) -> Project | None:
        """The project the CONVOY_* variables name, if they name one."""
        return self._from_env.project if self._from_env is not None else None

    async def audit_names(self, project: Project) -> tuple[str, ...]:
        """What a project's audit entries name it by: its scope, and for the environment's
        project also its bare id (entries written before the bot served several projects)."""
        env = await self.from_env()
        legacy = env is not None and env.scope == project.scope
        return (project.scope, project.project_id) if legacy else (project.scope,)

    async def legacy(self) -> Project | None:
        """The project of buttons and records from before the bot served several: the
        environment's (the only kind there was), or else the only project."""
        if self._from_env is not None:
            return self._from_env.project
        projects = await self.projects()
        return projects[0] if len({p.scope for p in projects}) == 1 else None

    async def by_scope(self, scope: str) -> Project | None:
        """The first project (by alias) with this identity."""
        return next((p for p in await self.projects() if p.scope == scope), None)

    async def several(self) -> bool:
        """Whether messages must name the project (more than one Convoy project served)."""
        return len({p.scope for p in await self.projects()}) > 1

    async def for_channel(self, channel_id: str) -> Project | None:
        """The channel's bound project, or the only project when there is one."""
        projects = await self.projects()
        if len({p.scope for p in projects}) == 1:
            return projects[0]  # bound or not, the one project acts: no need to ask Redis
        try:
            scope = await self._bindings.scope_of(channel_id)
        except AccessStoreUnavailable:
            scope = None  # with several projects the caller is asked
        if scope is not None:
            bound = next((p for p in projects if p.scope == scope), None)
            if bound is not None:
                return bound
        return None


async def projects_of(roles: RoleStore, projects: Sequence[Project], user_id: str) -> list[Project]:
    """The projects a person has a role in (all of them for a global role): what chat may
    name to them. Someone with no role there learns no team's project names."""
    return [p for p in projects if await roles.effective_role(user_id, p.scope) > Role.NONE]


class ProjectChoice:
    """Picks a command's project; keeps the command while its caller is asked which."""

    def __init__(self, catalog: ProjectCatalog, redis: Store, roles: RoleStore) -> None:
        self._catalog = catalog
        self._redis = redis
        self._roles = roles

    async def _yours(self, user_id: str) -> list[Project]:
        return await projects_of(self._roles, await self._catalog.projects(), user_id)

    async def pick(
        self, user_id: str, channel_id: str, named: str, text: str
    ) -> Project | AskWhich:
        if named:
            return await self._catalog.named(named, await self._yours(user_id))
        found = await self._catalog.for_channel(channel_id)
        if found is not None:
            return found
        if not await self._catalog.projects():
            raise InvalidInput("This bot has no Convoy project yet: its operators add one.")
        projects = await self._yours(user_id)
        if not projects:
            raise InvalidInput(
                "This channel is not bound to a project, and you have no role in any project "
                "of this bot yet, so there is none to pick. Ask an admin for a role (`/convoy "
                "roles`). Nothing was changed."
            )
        command_id = secrets.token_urlsafe(12)
        pending = PendingCommand(user_id=user_id, channel_id=channel_id, text=text)
        with failing_closed():
            await self._redis.set(
                redis_keys.pending_command(command_id),
                pending.model_dump_json(),
                ex=PENDING_TTL_SECONDS,
            )
        return AskWhich(command_id, tuple(projects))

    async def named(self, name: str, user_id: str) -> Project:
        return await self._catalog.named(name, await self._yours(user_id))

    async def check_reason(self, user_id: str, picked: Project, named_in_reason: list[str]) -> None:
        """A reason that says `-p billing` where the command acts on another project, picked by
        its channel: the person may have meant the flag, so the bot asks instead of acting in
        a project they may not have meant (a flag named first makes the reason's plain text)."""
        if not named_in_reason:
            return  # nothing to compare: no round trip for the caller's projects
        yours = await self._yours(user_id)
        for name in named_in_reason:
            other = next((p for p in yours if name == p.alias), None)
            if other is not None and other.scope != picked.scope:
                raise InvalidInput(
                    f"The reason says `-p {other.alias}`, but the project flag is read only "
                    f"before the reason, so this would act on project `{picked.alias}`. To act "
                    f"on `{other.alias}`, put the flag first (`/convoy pause <endpoint> -p "
                    f"{other.alias} <reason>`); to keep those words in the reason, name the "
                    f"project first (`-p {picked.alias}`). Nothing was changed."
                )

    async def project_for(self, user_id: str, channel_id: str, named: str) -> Project:
        """The project a form opened here acts on: named, bound, or the only one. A form
        cannot ask which first (its trigger lives 3 s), so with several it says how to name
        one."""
        if named:
            return await self._catalog.named(named, await self._yours(user_id))
        found = await self._catalog.for_channel(channel_id)
        if found is not None:
            return found
        aliases = ", ".join(f"`{p.alias}`" for p in await self._yours(user_id)) or "none yet"
        raise InvalidInput(
            "This channel is not bound to a project, and the bot serves several: open the form "
            f"in one with `/convoy pause -p <alias>` ({aliases}), or bind the channel with "
            "`/convoy bind <alias>`. Nothing was changed."
        )

    async def answer(self, command_id: str, user_id: str) -> PendingCommand:
        """The kept command, once, for its own caller."""
        key = redis_keys.pending_command(command_id)
        with failing_closed():
            raw = await self._redis.getdel(key)
        if raw is None:
            raise InvalidInput("That question was already answered or has expired. Type it again.")
        pending = PendingCommand.model_validate_json(raw)
        if pending.user_id != user_id:
            with failing_closed():
                await self._redis.set(key, raw, ex=PENDING_TTL_SECONDS)
            raise InvalidInput("Only the person who typed the command can pick its project.")
        return pending
