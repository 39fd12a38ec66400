"""Granting, revoking and listing roles: one set of rules for chat and for the CLI (SPEC §4).

In chat the actor must be an admin of the scope; the CLI runs on the bot's own machine, where
its user can reach Redis anyway, so it is trusted as the actor `cli`. Both keep the same
audit wording and the rule that no change may leave a scope without an admin.
"""

from __future__ import annotations

import re

from bot.access import Access, Verb
from bot.audit import AuditLog
from bot.errors import Forbidden, InvalidInput
from bot.roles import GLOBAL_SCOPE, Grant, Role, RoleStore

CLI_ACTOR = "cli"
_SUBJECT = re.compile(r"^[UWS][A-Z0-9]{2,}$")


def check_subject(subject: str) -> str:
    """A Slack user (`U…`, `W…`) or user group (`S…`) id; InvalidInput for anything else."""
    if not _SUBJECT.match(subject):
        raise InvalidInput(
            f"`{subject[:40]}` is not a Slack user or user group id (U…, W… or S…). "
            "Nothing was changed."
        )
    return subject


class RoleAdmin:
    """Role changes, checked (in chat), kept from orphaning a scope, and audited."""

    def __init__(self, roles: RoleStore, audit: AuditLog, access: Access | None) -> None:
        self._roles = roles
        self._audit = audit
        self._access = access  # None: the trusted CLI

    @property
    def _project(self) -> str:
        return self._access.project if self._access else GLOBAL_SCOPE

    async def grant(self, actor: str, subject: str, role: Role, scope: str) -> Grant:
        """Give a user or user group a role in a scope (`*` for every project)."""
        async with self._audit.audited(actor, "roles grant", self._project) as draft:
            draft.detail = f"{subject} {role.label} {scope}"
            await self._check_actor(actor, scope)
            check_subject(subject)
            await self._keep_an_admin(subject, scope, role)
            await self._roles.grant(subject, role, scope)
            draft.outcome = f"granted {role.label} to {subject} in {scope}"
        return Grant(subject, scope, role)

    async def revoke(self, actor: str, subject: str, scope: str) -> bool:
        """Remove a role; whether there was one to remove."""
        async with self._audit.audited(actor, "roles revoke", self._project) as draft:
            draft.detail = f"{subject} {scope}"
            await self._check_actor(actor, scope)
            check_subject(subject)
            await self._keep_an_admin(subject, scope, Role.NONE)
            removed = await self._roles.revoke(subject, scope)
            draft.outcome = f"revoked {subject} in {scope}" if removed else "nothing to revoke"
        return removed

    async def check_admin(self, actor: str) -> None:
        """Whether the actor manages roles at all (before their typo is explained to them)."""
        if self._access is not None:
            await self._access.require(actor, Verb.ROLES)

    async def grants(self, actor: str, scope: str) -> list[Grant]:
        """Bootstrap admins, then stored grants (in a scope and globally, or all for `*`)."""
        if self._access is not None:
            async with self._audit.audited(actor, "roles list", self._project):
                await self._access.require(actor, Verb.ROLES)
        return await self._roles.grants(None if scope == GLOBAL_SCOPE else scope)

    async def _check_actor(self, actor: str, scope: str) -> None:
        if self._access is not None:
            await self._access.require_admin_of(actor, scope)

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
