"""Adding, checking, removing, exporting and importing projects (`convoy-bot projects …`).

A key must belong to its project: Convoy takes the project from a project API key and
ignores the id in the path, so a key of project A stored with project B's id would act on
A. Adding (and importing) asks Convoy which project the key serves and refuses a mismatch,
so a wrong pairing never reaches Redis.

Removing a project, or re-adding its alias with another URL or project id (another
identity), is refused while the bot still holds work there (bot.projects.held_work): pauses and
timers, writes in doubt, open approvals. Re-pointing an alias that no other alias shares
moves the channels bound to it and the roles granted in it to the new identity: people
bound and granted the alias, and keep it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, SecretStr, ValidationError

from bot.access.roles import RoleStore
from bot.audit import AuditLog
from bot.convoy import ConvoyClient, build_http_client
from bot.errors import BotError, InvalidInput
from bot.project import Project, WebhookDetail, check_alias, normalize_api_url
from bot.projects.bindings import ChannelBindings
from bot.projects.catalog import ProjectCatalog
from bot.projects.held_work import HeldWork
from bot.projects.store import ProjectStore

CLI_ACTOR = "cli"
EXPORT_VERSION = 1


class ExportedProject(BaseModel):
    """A project in an export file: everything but its key, and where its key comes from."""

    alias: str
    api_url: str
    project_id: str
    webhook_detail: WebhookDetail = "full"
    api_key_env: str


class ExportFile(BaseModel):
    version: int = EXPORT_VERSION
    projects: list[ExportedProject]


@dataclass(frozen=True)
class Added:
    """A project stored: whether it replaced one of its alias, and what followed the alias
    to a new identity."""

    replaced: bool
    moved_channels: tuple[str, ...] = ()
    moved_grants: int = 0

    @property
    def summary(self) -> str:
        moved = []
        if self.moved_channels:
            moved.append(f"moved the binding of {', '.join(self.moved_channels)}")
        if self.moved_grants:
            moved.append(f"moved {self.moved_grants} role grant(s)")
        return ("replaced" if self.replaced else "added") + "".join(f", {m}" for m in moved)


@dataclass(frozen=True)
class Checked:
    """What Convoy said about one project's key."""

    project: Project
    problem: str  # "" when the key, URL and project id agree

    @property
    def ok(self) -> bool:
        return not self.problem


class ProjectAdmin:
    """The rules behind `convoy-bot projects`; every change is audited as the actor `cli`."""

    def __init__(
        self,
        store: ProjectStore,
        catalog: ProjectCatalog,
        audit: AuditLog,
        *,
        work: HeldWork,
        bindings: ChannelBindings,
        roles: RoleStore,
        timeout_seconds: float,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._work = work
        self._bindings = bindings
        self._roles = roles
        self._audit = audit
        self._timeout = timeout_seconds

    async def add(self, project: Project, api_key: SecretStr) -> Added:
        """Check the key against Convoy, then store the project (replacing one of its alias)."""
        check_alias(project.alias)
        project = project.model_copy(update={"api_url": normalize_api_url(project.api_url)})
        if not api_key.get_secret_value().strip():
            raise InvalidInput("The API key is empty. Nothing was stored.")
        env = await self._catalog.from_env()
        if env is not None and env.alias == project.alias:
            raise InvalidInput(
                f"`{project.alias}` is the alias of the project the CONVOY_* variables name: "
                "pick another alias. Nothing was stored."
            )
        async with self._audit.audited(CLI_ACTOR, "projects add", project.scope) as draft:
            draft.detail = f"{project.alias} {project.project_id} {project.api_url}"
            old = next((p for p in await self._store.projects() if p.alias == project.alias), None)
            leaving = old.scope if old is not None and await self._last_alias(old, project) else ""
            if leaving:
                await self._refuse_while_held(
                    project.alias,
                    leaving,
                    "Pointing the alias at another project or URL would strand it",
                    "Nothing was stored.",
                )
            checked = await self.check_key(project, api_key)
            if not checked.ok:
                raise InvalidInput(f"{checked.problem} Nothing was stored.")
            await self._store.add(project, api_key)
            added = Added(replaced=old is not None)
            if leaving:
                added = await self._move_identity(leaving, project.scope)
            draft.outcome = added.summary
        return added

    async def _last_alias(self, old: Project, new: Project) -> bool:
        """Whether re-adding `old`'s alias as `new` leaves old's identity served by no alias."""
        if old.scope == new.scope:
            return False
        others = [p for p in await self._catalog.projects() if p.alias != old.alias]
        return not any(p.scope == old.scope for p in others)

    async def _refuse_while_held(self, alias: str, scope: str, why: str, nothing: str) -> None:
        held = await self._work.of(scope)
        if held:
            raise InvalidInput(
                f"Project `{alias}` still has " + "; ".join(held) + f". {why}: resume the "
                "pauses (or end their timers), and let the approvals and writes close first. "
                + nothing
            )

    async def _move_identity(self, old: str, new: str) -> Added:
        """The channels bound to an alias and the roles granted in it follow it elsewhere."""
        channels = await self._bindings.channels_of(old)
        for channel in channels:
            await self._bindings.bind(channel, new)
        grants = [g for g in await self._roles.grants(old) if g.project == old]
        already = {g.subject for g in await self._roles.grants(new) if g.project == new}
        for grant in grants:
            if grant.subject not in already:  # a role given in the new identity stands
                await self._roles.grant(grant.subject, grant.role, new)
            await self._roles.revoke(grant.subject, old)
        return Added(replaced=True, moved_channels=tuple(channels), moved_grants=len(grants))

    async def check_key(self, project: Project, api_key: SecretStr) -> Checked:
        """Ask Convoy which project this key serves, at this URL, for this id."""
        http = build_http_client(project.api_url, api_key.get_secret_value(), self._timeout)
        try:
            seen = await ConvoyClient(http, project, self._timeout).project_seen_by_key()
        except BotError as exc:
            return Checked(project, f"Convoy did not confirm the project: {exc.message}")
        finally:
            await http.aclose()
        if seen != project.project_id:
            return Checked(
                project,
                f"The API key belongs to Convoy project {seen}, not {project.project_id}: "
                "Convoy would act on that project.",
            )
        return Checked(project, "")

    async def check(self, alias: str = "") -> list[Checked]:
        """Each project (or one), checked against Convoy with its key."""
        projects = await self._catalog.projects()
        if alias:
            projects = [await self._catalog.named(alias)]
        found = []
        for project in projects:
            try:
                key = await self._catalog.key_of(project)
            except ValueError as exc:  # KeyBoxError: the secret key does not decrypt it
                found.append(Checked(project, str(exc)))
                continue
            found.append(await self.check_key(project, key))
        return found

    async def remove(self, alias: str) -> list[str]:
        """Remove a stored project; the channels unbound with it (when no alias is left for
        its Convoy project). Refused while the bot holds work there (bot.projects.held_work)."""
        stored = {p.alias: p for p in await self._store.projects()}
        project = stored.get(alias)
        if project is None:
            env = await self._catalog.from_env()
            where = " (it comes from the CONVOY_* variables)" if env and env.alias == alias else ""
            raise InvalidInput(f"There is no stored project `{alias[:40]}`{where}.")
        others = [p for p in await self._catalog.projects() if p.alias != alias]
        shared = any(p.scope == project.scope for p in others)
        async with self._audit.audited(CLI_ACTOR, "projects remove", project.scope) as draft:
            if not shared:
                await self._refuse_while_held(
                    alias, project.scope, "Removing it would strand it", "Nothing was removed."
                )
            await self._store.remove(alias)
            unbound: list[str] = []
            if not shared:
                unbound = await self._bindings.channels_of(project.scope)
                for channel in unbound:
                    await self._bindings.unbind(channel)
            draft.outcome = "removed" + (f", unbound {', '.join(unbound)}" if unbound else "")
        return unbound

    async def export(self) -> str:
        """Every project as JSON, without keys: each names the variable its key comes from."""
        projects = [
            ExportedProject(
                alias=p.alias,
                api_url=p.api_url,
                project_id=p.project_id,
                webhook_detail=p.webhook_detail,
                api_key_env=p.key_env or default_key_env(p.alias),
            )
            for p in await self._catalog.projects()
        ]
        return ExportFile(projects=projects).model_dump_json(indent=2) + "\n"

    async def import_file(self, text: str, environ: Mapping[str, str]) -> list[str]:
        """Add every project of an export, each key read from the variable it names. All
        keys are found before anything is stored; each is checked with Convoy as on add."""
        try:
            exported = ExportFile.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            raise InvalidInput(
                "That is not a file written by `convoy-bot projects export`."
            ) from exc
        missing = [p.api_key_env for p in exported.projects if not environ.get(p.api_key_env)]
        if missing:
            raise InvalidInput(
                "Set the variables holding the API keys first: "
                + ", ".join(sorted(set(missing)))
                + ". Nothing was imported."
            )
        env = await self._catalog.from_env()
        added = []
        for item in exported.projects:
            if env is not None and env.alias == item.alias:
                continue  # the CONVOY_* variables' project: it needs no storing
            try:
                project = Project(
                    alias=item.alias,
                    api_url=item.api_url,
                    project_id=item.project_id,
                    webhook_detail=item.webhook_detail,
                    key_env=item.api_key_env,
                )
            except ValidationError as exc:
                why = exc.errors(include_input=False, include_url=False)[0]["msg"]
                raise InvalidInput(
                    f"Project `{item.alias[:40]}` of the file: {why.removeprefix('Value error, ')}"
                ) from None
            await self.add(project, SecretStr(environ[item.api_key_env]))
            added.append(item.alias)
        return added


def default_key_env(alias: str) -> str:
    """The variable an export names for a key typed on stdin: CONVOY_API_KEY_<ALIAS>."""
    return "CONVOY_API_KEY_" + alias.upper().replace("-", "_")
