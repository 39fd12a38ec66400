"""Who may do what: the role each verb needs, the per-user change limit, and who can grant roles."""

from __future__ import annotations

from enum import StrEnum

from bot.access.rate_limits import ChangeRateLimiter
from bot.access.roles import Role, RoleStore
from bot.errors import AccessStoreUnavailable, Forbidden, TooManyChanges
from bot.project import Project

MAX_NAMED_ADMINS = 5


class Verb(StrEnum):
    """Everything a user can ask of the bot that needs a role."""

    STATUS = "status"
    LIST = "list"
    PAUSE = "pause"
    RESUME = "resume"
    APPROVE = "approve"
    DENY = "deny"
    AUDIT = "audit"
    PAUSED = "paused"
    EXTEND = "extend"
    KEEP_PAUSED = "keep paused"
    RETRY_DISCARDED = "retry discarded"
    ROLES = "roles"
    WATCH = "watch"
    TUNE_WATCH = "watch snooze"  # also off and on, and Snooze on a card


NEEDS: dict[Verb, Role] = {
    Verb.STATUS: Role.VIEWER,
    Verb.LIST: Role.VIEWER,
    Verb.PAUSE: Role.REQUESTER,
    Verb.RESUME: Role.REQUESTER,
    Verb.APPROVE: Role.APPROVER,
    Verb.DENY: Role.APPROVER,
    Verb.AUDIT: Role.VIEWER,
    Verb.PAUSED: Role.VIEWER,
    Verb.EXTEND: Role.OPERATOR,
    Verb.KEEP_PAUSED: Role.OPERATOR,
    Verb.RETRY_DISCARDED: Role.OPERATOR,
    Verb.ROLES: Role.ADMIN,
    Verb.WATCH: Role.VIEWER,
    Verb.TUNE_WATCH: Role.OPERATOR,
}
COUNTED = frozenset({Verb.PAUSE, Verb.RESUME})  # changes count against the per-minute limit


class Access:
    """Role checks for one project; refusals name the role needed and who can grant it."""

    def __init__(self, roles: RoleStore, rate: ChangeRateLimiter, project: Project) -> None:
        self._roles = roles
        self._rate = rate
        self.project = project
        self.scope = project.scope  # roles are kept per project, by its scope

    async def role_of(self, user_id: str) -> Role:
        """The caller's effective role in this project (Redis failing: AccessStoreUnavailable)."""
        return await self._roles.effective_role(user_id, self.scope)

    async def require(self, user_id: str, verb: Verb, *, counted: bool = True) -> Role:
        """The caller's role, or Forbidden naming the role needed and who grants it.

        Changes (pause, resume) also count against the caller's per-minute limit; both
        lookups go to Redis at once.
        """
        needed = NEEDS[verb]
        counter = self._rate.counter(user_id) if counted and verb in COUNTED else None
        role, used = await self._roles.effective_role_counting(user_id, self.scope, counter)
        if role >= needed and self._rate.exceeded(used):
            raise TooManyChanges(
                f"You have asked for more than {self._rate.limit} changes in a minute; "
                "wait a moment and try again. Nothing was changed."
            )
        if role < needed:
            has = f"your role is *{role.label}*" if role else "you have no role yet"
            raise Forbidden(
                f"`{verb}` needs the *{needed.label}* role in project {self.project.alias}; "
                f"{has}. An admin can grant it with `/convoy roles grant`. Nothing was changed.",
                grantors=await self._admins(),
            )
        return role

    async def require_operator(self, user_id: str, what: str) -> None:
        """Some changes are never asked for by requesters: they need an operator's own click."""
        if await self.require(user_id, Verb.RESUME) < Role.OPERATOR:
            raise Forbidden(f"{what} needs the *operator* role. Nothing was changed.")

    async def _admins(self) -> tuple[str, ...]:
        """Who can grant roles here: stored admins and bootstrap admins (a few, for a message)."""
        try:
            grants = await self._roles.grants(self.scope)
        except AccessStoreUnavailable:
            return tuple(self._roles.bootstrap_admins[:MAX_NAMED_ADMINS])
        admins = dict.fromkeys(g.user_id for g in grants if g.role is Role.ADMIN)
        return tuple(admins)[:MAX_NAMED_ADMINS]
