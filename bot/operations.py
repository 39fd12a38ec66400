"""The bot's use cases: who may do what to which endpoint, and doing it safely (SPEC §4-§5)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from bot.changes import Action, Change
from bot.choices import ChoiceStore, PendingChoice, Picked
from bot.convoy import ConvoyClient, looks_like_uid
from bot.errors import AccessStoreUnavailable, EndpointNotFound, Forbidden
from bot.locks import EndpointLocks
from bot.models import Endpoint
from bot.resolver import Candidates, resolve
from bot.roles import Role, RoleStore

MAX_NAMED_ADMINS = 5
VERB_NEEDS = {
    "status": Role.VIEWER,
    "list": Role.VIEWER,
    "pause": Role.REQUESTER,
    "resume": Role.REQUESTER,
    "roles": Role.ADMIN,
}


@dataclass(frozen=True)
class Choice:
    """Several endpoints match: the caller picks one (the id names the stored question)."""

    choice_id: str
    verb: str
    candidates: Candidates


@dataclass(frozen=True)
class NeedsApproval:
    """A requester asked for a change that an approver must make."""

    action: Action
    endpoint: Endpoint
    role: Role


class Operations:
    """Role checks, name resolution and locked state changes, independent of Slack."""

    def __init__(
        self,
        convoy: ConvoyClient,
        roles: RoleStore,
        locks: EndpointLocks,
        choices: ChoiceStore,
    ) -> None:
        self.convoy = convoy
        self.roles = roles
        self.locks = locks
        self.choices = choices

    @property
    def project(self) -> str:
        return self.convoy.default_project

    async def require(self, user_id: str, verb: str, needed: Role | None = None) -> Role:
        """The caller's role, or Forbidden naming the role needed and who grants it."""
        needed = needed or VERB_NEEDS[verb]
        role = await self.roles.effective_role(user_id, self.project)
        if role < needed:
            has = f"your role is *{role.label}*" if role else "you have no role yet"
            raise Forbidden(
                f"`/convoy {verb}` needs the *{needed.label}* role in project {self.project}; "
                f"{has}. An admin can grant it with `convoy-bot roles grant`. Nothing was changed.",
                grantors=await self._admins(),
            )
        return role

    async def _admins(self) -> tuple[str, ...]:
        """Who can grant roles here: stored admins and bootstrap admins (a few, for a message)."""
        try:
            grants = await self.roles.grants(self.project)
        except AccessStoreUnavailable:
            return tuple(self.roles.bootstrap_admins[:MAX_NAMED_ADMINS])
        admins = dict.fromkeys(g.user_id for g in grants if g.role is Role.ADMIN)
        return tuple(admins)[:MAX_NAMED_ADMINS]

    async def status(self, user_id: str, text: str) -> Endpoint | Choice:
        await self.require(user_id, "status")
        return await self._resolve_or_ask(user_id, "status", text, "")

    async def list_endpoints(self, user_id: str, search: str) -> list[Endpoint]:
        await self.require(user_id, "list")
        return await self.convoy.search_endpoints(search, self.project)

    async def change(
        self, user_id: str, action: Action, text: str, reason: str
    ) -> Change | Choice | NeedsApproval:
        """Pause or resume what the user named, if their role allows it."""
        role = await self.require(user_id, action.value)
        if role >= Role.OPERATOR and looks_like_uid(text):
            # The read under the lock doubles as the lookup: one GET, one write.
            with contextlib.suppress(EndpointNotFound):
                return await self._locked_change(action, text, text)
        found = await self._resolve_or_ask(user_id, action.value, text, reason)
        if isinstance(found, Choice):
            return found
        return await self.change_endpoint(action, found, role)

    async def change_endpoint(
        self, action: Action, endpoint: Endpoint, role: Role, *, reenable_inactive: bool = False
    ) -> Change | NeedsApproval:
        """Operators and up change it under the endpoint's lock; requesters need approval."""
        if role < Role.OPERATOR:
            return NeedsApproval(action, endpoint, role)
        return await self._locked_change(action, endpoint.uid, endpoint.label, reenable_inactive)

    async def _locked_change(
        self, action: Action, uid: str, label: str, reenable_inactive: bool = False
    ) -> Change:
        async with self.locks.hold(self.project, uid, label):
            if action is Action.PAUSE:
                return await self.convoy.ensure_paused(uid, self.project)
            return await self.convoy.ensure_active(
                uid, self.project, reenable_inactive=reenable_inactive
            )

    async def change_by_uid(self, user_id: str, action: Action, uid: str) -> Change | NeedsApproval:
        """A button's change: the role is checked again and the endpoint read fresh."""
        role = await self.require(user_id, action.value)
        endpoint = await self.convoy.get_endpoint(uid, self.project)
        return await self.change_endpoint(action, endpoint, role)

    async def pick(self, user_id: str, choice_id: str, uid: str) -> tuple[Picked, Endpoint, Role]:
        """Claim a pick-one answer (once), re-check the role and read the endpoint picked."""
        picked = await self.choices.claim(choice_id, user_id, uid)
        role = await self.require(user_id, picked.choice.verb)
        return picked, await self.convoy.get_endpoint(uid, self.project), role

    async def _resolve_or_ask(
        self, user_id: str, verb: str, text: str, reason: str
    ) -> Endpoint | Choice:
        found = await resolve(self.convoy, text, self.project)
        if isinstance(found, Endpoint):
            return found
        choice_id = await self.choices.save(
            PendingChoice(
                user_id=user_id,
                verb=verb,
                project=self.project,
                reason=reason,
                uids=[e.uid for e in found.endpoints],
            )
        )
        return Choice(choice_id, verb, found)
