"""Binding Slack channels to projects, and what a caller can see of the projects.

`/convoy bind ALIAS` makes a channel act on that project (names resolve there, its changes
are told there). Binding needs an admin of the project (or a global admin), and a channel
the bot can post in: it says how to invite the bot otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.roles import Role, RoleStore
from bot.audit import AuditLog
from bot.errors import AccessStoreUnavailable, Forbidden, InvalidInput
from bot.project import Project
from bot.projects.bindings import ChannelBindings
from bot.projects.catalog import ProjectCatalog, projects_of
from bot.slack_client import SlackCalls


@dataclass(frozen=True)
class ProjectView:
    """A project as one caller sees it: their role there, and the channels bound to it."""

    project: Project
    role: Role
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Rebound:
    """A channel bound: the project it acts on now, and the one it no longer acts on."""

    project: Project
    replaced: Project | None


class ChannelAdmin:
    """bind, unbind, and `/convoy projects`."""

    def __init__(
        self,
        bindings: ChannelBindings,
        catalog: ProjectCatalog,
        roles: RoleStore,
        audit: AuditLog,
        calls: SlackCalls,
    ) -> None:
        self._bindings = bindings
        self._catalog = catalog
        self._roles = roles
        self._audit = audit
        self._calls = calls  # asked whether the bot is in a channel before binding it

    async def bind(self, actor: str, channel_id: str, name: str, notify: str = "") -> Rebound:
        """Bind the channel; `notify` is the user group its failing and disabled cards
        mention ("" = none). A channel bound to another project is taken from it only by an
        admin of that project too (or a global admin): the rights unbinding it needs, since
        re-binding unbinds it from there."""
        yours = await projects_of(self._roles, await self._catalog.projects(), actor)
        project = await self._catalog.named(name, yours)
        current = await self.bound(channel_id)
        replaced = current if current is not None and current.scope != project.scope else None
        async with self._audit.audited(actor, "bind", project.scope) as draft:
            draft.detail = f"{channel_id} -> {project.alias}" + (
                f", notify {notify}" if notify else ""
            )
            await self._require_admin(actor, project)
            if replaced is not None:
                await self._require_admin(actor, replaced, taking_from=True)
            if not await self._bot_is_in(channel_id):
                raise InvalidInput(
                    "I am not a member of this channel, so I could not tell it about "
                    f"`{project.alias}`. Invite me with `/invite @Convoy`, then bind it again. "
                    "Nothing was changed."
                )
            await self._bindings.bind(channel_id, project.scope)
            await self._bindings.set_notify(channel_id, notify)
            draft.outcome = f"bound {channel_id} to {project.alias}" + (
                f", replacing {replaced.alias}" if replaced is not None else ""
            )
        return Rebound(project, replaced)

    async def unbind(self, actor: str, channel_id: str) -> Project | None:
        """Unbind the channel; the project it was bound to, if it was."""
        current = await self.bound(channel_id)
        if current is None:
            return None
        async with self._audit.audited(actor, "unbind", current.scope) as draft:
            await self._require_admin(actor, current)
            await self._bindings.unbind(channel_id)
            draft.outcome = f"unbound {channel_id} from {current.alias}"
        return current

    async def acting_on(self, channel_id: str, named: str) -> Project | None:
        """The project a command here acts on, without asking: named, bound, or the only one;
        None when that takes a question (several projects) or Redis cannot say."""
        try:
            if named:
                return await self._catalog.find(named)
            return await self._catalog.for_channel(channel_id)
        except AccessStoreUnavailable:
            return None

    async def bound(self, channel_id: str) -> Project | None:
        scope = await self._bindings.scope_of(channel_id)
        if scope is None:
            return None
        return await self._catalog.by_scope(scope)

    async def overview(self, actor: str) -> list[ProjectView]:
        """The projects the caller has a role in (all of them for a global role)."""
        bound = await self._bindings.all()
        views = []
        for project in await self._catalog.projects():
            role = await self._roles.effective_role(actor, project.scope)
            if role is Role.NONE:
                continue
            channels = tuple(sorted(c for c, s in bound.items() if s == project.scope))
            views.append(ProjectView(project, role, channels))
        return views

    async def _require_admin(
        self, actor: str, project: Project, *, taking_from: bool = False
    ) -> None:
        if await self._roles.effective_role(actor, project.scope) >= Role.ADMIN:
            return
        why = (
            f"This channel is bound to project `{project.alias}`: binding it elsewhere "
            "unbinds it from there, which needs the *admin* role there too."
            if taking_from
            else f"Binding a channel to project `{project.alias}` needs the *admin* role there."
        )
        raise Forbidden(
            f"{why} Nothing was changed.", grantors=tuple(self._roles.bootstrap_admins[:5])
        )

    async def _bot_is_in(self, channel_id: str) -> bool:
        answer = await self._calls.call(
            "", self._calls.slack.conversations_info, channel=channel_id
        )
        channel = answer.data.get("channel") or {}
        return bool(channel.get("is_member"))
