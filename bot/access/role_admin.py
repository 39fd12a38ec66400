"""Granting, revoking and listing roles: one set of rules for chat and for the CLI (SPEC §4).

A role applies in one project (named by alias or Convoy project id, kept by its scope) or in
every project (`*`). In chat the actor must be an admin there (or a global admin); the CLI
runs on the bot's own machine, where its user can reach Redis anyway, so it is trusted as
the actor `cli`. Both keep the same audit wording, refuse projects the bot does not know (a
grant there would match nobody), and refuse the change that leaves a scope without an admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from bot.access.roles import GLOBAL_SCOPE, Grant, Role, RoleStore
from bot.audit import AuditLog
from bot.errors import Forbidden, InvalidInput
from bot.project import Project

CLI_ACTOR = "cli"
_SUBJECT = re.compile(r"^[UWS][A-Z0-9]{2,}$")


def not_a_subject(text: str) -> str:
    """The one refusal of a role's subject that is no Slack user or group, in chat and CLI."""
    return (
        f"`{text[:40]}` is not a Slack user or user group id (U…, W… or S…). Nothing was changed."
    )


def check_subject(subject: str) -> str:
    """A Slack user (`U…`, `W…`) or user group (`S…`) id; InvalidInput for anything else."""
    if not _SUBJECT.match(subject):
        raise InvalidInput(not_a_subject(subject))
    return subject


class ProjectNames(Protocol):
    """The projects the bot serves, by alias or id (bot.projects.catalog.ProjectCatalog)."""

    async def find(self, name: str) -> Project | None: ...

    async def projects(self) -> list[Project]: ...


@dataclass(frozen=True)
class Scope:
    """Where a role applies: `key` as stored, `name` as people say it."""

    key: str
    name: str

    @property
    def everywhere(self) -> bool:
        return self.key == GLOBAL_SCOPE


EVERYWHERE = Scope(GLOBAL_SCOPE, GLOBAL_SCOPE)


class RoleAdmin:
    """Role changes, checked (in chat), kept from orphaning a scope, and audited."""

    def __init__(
        self, roles: RoleStore, audit: AuditLog, names: ProjectNames, *, trusted: bool = False
    ) -> None:
        self._roles = roles
        self._audit = audit
        self._names = names
        self._trusted = trusted  # the CLI

    async def scope(self, name: str) -> Scope:
        """`*`, or a project the bot serves by alias or id; InvalidInput for anything else."""
        if name == GLOBAL_SCOPE:
            return EVERYWHERE
        project = await self._names.find(name)
        if project is None:
            known = ", ".join(f"`{p.alias}`" for p in await self._names.projects()) or "none"
            raise InvalidInput(
                f"There is no project `{name[:40]}` (projects: {known}; `*` is every project). "
                "Nothing was changed."
            )
        return Scope(project.scope, project.alias)

    async def grant(self, actor: str, subject: str, role: Role, where: Scope) -> Grant:
        """Give a user or user group a role in a scope."""
        async with self._audit.audited(actor, "roles grant", where.key) as draft:
            draft.detail = f"{subject} {role.label} {where.name}"
            await self.check_admin(actor, where)
            check_subject(subject)
            await self._keep_an_admin(subject, where.key, role)
            await self._roles.grant(subject, role, where.key)
            draft.outcome = f"granted {role.label} to {subject} in {where.name}"
        return Grant(subject, where.name, role)

    async def revoke(self, actor: str, subject: str, where: Scope) -> bool:
        """Remove a role; whether there was one to remove."""
        async with self._audit.audited(actor, "roles revoke", where.key) as draft:
            draft.detail = f"{subject} {where.name}"
            await self.check_admin(actor, where)
            check_subject(subject)
            await self._keep_an_admin(subject, where.key, Role.NONE)
            removed = await self._roles.revoke(subject, where.key)
            draft.outcome = f"revoked {subject} in {where.name}" if removed else "nothing to revoke"
        return removed

    async def check_admin(self, actor: str, where: Scope) -> None:
        """Roles in a scope are managed by its admins (global admins manage every scope)."""
        if self._trusted or await self._roles.effective_role(actor, where.key) >= Role.ADMIN:
            return
        place = "every project (`*`)" if where.everywhere else f"project `{where.name}`"
        raise Forbidden(
            f"Managing roles in {place} needs the *admin* role there. Nothing was changed.",
            grantors=tuple(self._roles.bootstrap_admins[:5]),
        )

    async def grants(self, actor: str, where: Scope | None) -> list[Grant]:
        """Grants as people name them: in one scope (and globally), or all that the actor
        administers when `where` is None (every grant, for a global admin)."""
        async with self._audit.audited(actor, "roles list", where.key if where else GLOBAL_SCOPE):
            if where is not None:
                await self.check_admin(actor, where)
                visible = {where.key, GLOBAL_SCOPE}
            else:
                visible = await self._administered(actor)
        names = {p.scope: p.alias for p in await self._names.projects()}
        return [
            Grant(g.subject, names.get(g.project, g.project), g.role)
            for g in await self._roles.grants()
            if g.project in visible
        ]

    async def _administered(self, actor: str) -> set[str]:
        """Every scope the actor may see the grants of; Forbidden if none."""
        scopes = [GLOBAL_SCOPE] + [p.scope for p in await self._names.projects()]
        mine = set(scopes) if self._trusted else set()
        for scope in scopes if not self._trusted else []:
            if await self._roles.effective_role(actor, scope) >= Role.ADMIN:
                mine |= set(scopes) if scope == GLOBAL_SCOPE else {scope, GLOBAL_SCOPE}
        if not mine:
            await self.check_admin(actor, EVERYWHERE)  # says who can help
        return mine

    async def _keep_an_admin(self, subject: str, scope: str, new_role: Role) -> None:
        """Refuse the change that takes away a scope's last admin."""
        if new_role is Role.ADMIN:
            return
        grants = await self._roles.grants()

        def replaced(grant: Grant) -> bool:
            return grant.subject == subject and grant.project == scope

        was_admin = any(replaced(g) and g.role is Role.ADMIN for g in grants)
        others = [
            g
            for g in grants
            if g.role is Role.ADMIN and g.project in (scope, GLOBAL_SCOPE) and not replaced(g)
        ]
        if was_admin and not others:
            raise Forbidden(
                "That would leave no admin who can manage roles here. "
                "Grant admin to someone else first. Nothing was changed."
            )
