"""The bot's use cases: who may do what to which endpoint, and doing it safely (SPEC §4-§5)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.approvals import ApprovalRequest, ApprovalStore, RequestState
from bot.changes import Action, Change, Outcome
from bot.choices import ChoiceStore, PendingChoice, Picked
from bot.claims import ButtonClaims
from bot.convoy import ConvoyClient, looks_like_uid
from bot.errors import (
    AccessStoreUnavailable,
    AlreadyHandled,
    BotError,
    EndpointNotFound,
    Forbidden,
    InvalidInput,
)
from bot.locks import EndpointLocks
from bot.models import Endpoint, EndpointStatus
from bot.resolver import Candidates, resolve
from bot.roles import Role, RoleStore

MAX_NAMED_ADMINS = 5
VERB_NEEDS = {
    "status": Role.VIEWER,
    "list": Role.VIEWER,
    "pause": Role.REQUESTER,
    "resume": Role.REQUESTER,
    "approve": Role.APPROVER,
    "deny": Role.APPROVER,
    "roles": Role.ADMIN,
}
REENABLE = "reenable"  # the verb of a pending "are you sure?" about an inactive endpoint


@dataclass(frozen=True)
class Choice:
    """Several endpoints match: the caller picks one (the id names the stored question)."""

    choice_id: str
    verb: str
    candidates: Candidates


@dataclass(frozen=True)
class ApprovalAsked:
    """A requester's change became an approval request (or found one already open)."""

    request: ApprovalRequest
    endpoint: Endpoint
    already_open: bool


@dataclass(frozen=True)
class NeedsConfirmation:
    """Resuming an endpoint Convoy disabled needs the caller to confirm the risk."""

    confirmation_id: str
    endpoint: Endpoint
    reason: str


@dataclass(frozen=True)
class Decision:
    """What an approver's click did to a request."""

    request: ApprovalRequest
    state: RequestState
    change: Change | None


@dataclass(frozen=True)
class Caller:
    """Who clicked or typed, and where: approval requests are posted in that channel."""

    user_id: str
    channel_id: str


class Operations:
    """Role checks, name resolution, approvals and locked state changes, independent of Slack."""

    def __init__(
        self,
        *,
        convoy: ConvoyClient,
        roles: RoleStore,
        locks: EndpointLocks,
        choices: ChoiceStore,
        approvals: ApprovalStore,
        claims: ButtonClaims,
    ) -> None:
        self.convoy = convoy
        self.roles = roles
        self.locks = locks
        self.choices = choices
        self.approvals = approvals
        self.claims = claims

    @property
    def project(self) -> str:
        return self.convoy.default_project

    # --- roles ---------------------------------------------------------------------------

    async def require(self, user_id: str, verb: str) -> Role:
        """The caller's role, or Forbidden naming the role needed and who grants it."""
        needed = VERB_NEEDS[verb]
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

    # --- reading -------------------------------------------------------------------------

    async def status(self, user_id: str, text: str) -> Endpoint | Choice:
        await self.require(user_id, "status")
        return await self._resolve_or_ask(user_id, "status", text, "")

    async def list_endpoints(self, user_id: str, search: str) -> list[Endpoint]:
        await self.require(user_id, "list")
        return await self.convoy.search_endpoints(search, self.project)

    # --- changing ------------------------------------------------------------------------

    async def change(
        self, caller: Caller, action: Action, text: str, reason: str
    ) -> Change | Choice | ApprovalAsked | NeedsConfirmation:
        """Pause or resume what the caller named, as their role allows."""
        role = await self.require(caller.user_id, action.value)
        if role >= Role.OPERATOR and looks_like_uid(text):
            # The read under the lock doubles as the lookup: one GET, one write.
            with contextlib.suppress(EndpointNotFound):
                change = await self._locked_change(action, text, text)
                return await self._confirm_if_inactive(caller, change, reason)
        found = await self._resolve_or_ask(caller.user_id, action.value, text, reason)
        if isinstance(found, Choice):
            return found
        return await self.change_endpoint(caller, action, found, role, reason)

    async def change_endpoint(
        self, caller: Caller, action: Action, endpoint: Endpoint, role: Role, reason: str
    ) -> Change | ApprovalAsked | NeedsConfirmation:
        """Operators and up change it under the endpoint's lock; requesters ask an approver."""
        if role < Role.OPERATOR:
            return await self._ask_approval(caller, action, endpoint, reason)
        change = await self._locked_change(action, endpoint.uid, endpoint.label)
        return await self._confirm_if_inactive(caller, change, reason)

    async def pick(self, caller: Caller, choice_id: str, uid: str) -> tuple[Picked, Endpoint, Role]:
        """Claim a pick-one answer (once), re-check the role and read the endpoint picked."""
        picked = await self.choices.claim(choice_id, caller.user_id, uid)
        verb = "resume" if picked.choice.verb == REENABLE else picked.choice.verb
        role = await self.require(caller.user_id, verb)
        return picked, await self.convoy.get_endpoint(uid, self.project), role

    async def reenable(self, caller: Caller, confirmation_id: str, uid: str) -> Change:
        """The confirmed re-enabling of an endpoint Convoy disabled."""
        picked = await self.choices.claim(confirmation_id, caller.user_id, uid)
        if picked.choice.verb != REENABLE:
            raise InvalidInput("That button does not confirm anything.")
        role = await self.require(caller.user_id, "resume")
        if role < Role.OPERATOR:
            raise Forbidden(
                "Re-enabling an endpoint needs the *operator* role. Nothing was changed."
            )
        return await self._locked_change(Action.RESUME, uid, uid, reenable_inactive=True)

    async def resume_from_message(
        self, caller: Caller, uid: str, message_ts: str, action_id: str
    ) -> Change | ApprovalAsked | NeedsConfirmation:
        """The Resume button: the first authorised click acts; later ones hear who did."""
        role = await self.require(caller.user_id, "resume")
        endpoint = await self.convoy.get_endpoint(uid, self.project)
        if role < Role.OPERATOR:
            return await self._ask_approval(caller, Action.RESUME, endpoint, "Resume button")
        won, holder = await self.claims.take(
            caller.channel_id, message_ts, action_id, caller.user_id
        )
        if not won:
            raise AlreadyHandled("This Resume button was already used.", holder)
        try:
            change = await self._locked_change(Action.RESUME, uid, endpoint.label)
        except BotError:
            # Nothing was written (errors before a write raise; after one, a Change says so).
            await self.claims.release(caller.channel_id, message_ts, action_id)
            raise
        return await self._confirm_if_inactive(caller, change, "Resume button")

    async def _locked_change(
        self, action: Action, uid: str, label: str, *, reenable_inactive: bool = False
    ) -> Change:
        async with self.locks.hold(self.project, uid, label):
            if action is Action.PAUSE:
                return await self.convoy.ensure_paused(uid, self.project)
            return await self.convoy.ensure_active(
                uid, self.project, reenable_inactive=reenable_inactive
            )

    async def _confirm_if_inactive(
        self, caller: Caller, change: Change, reason: str
    ) -> Change | NeedsConfirmation:
        if change.action is not Action.RESUME or change.outcome is not Outcome.INACTIVE:
            return change
        confirmation_id = await self.choices.save(
            PendingChoice(
                user_id=caller.user_id,
                verb=REENABLE,
                project=self.project,
                reason=reason,
                uids=[change.endpoint.uid],
            )
        )
        return NeedsConfirmation(confirmation_id, change.endpoint, reason)

    # --- approvals -----------------------------------------------------------------------

    async def _ask_approval(
        self, caller: Caller, action: Action, endpoint: Endpoint, reason: str
    ) -> ApprovalAsked:
        existing = await self.approvals.open_request_for(self.project, endpoint.uid, action)
        if existing is not None:
            return ApprovalAsked(existing, endpoint, already_open=True)
        request = await self.approvals.create(
            action=action,
            project=self.project,
            endpoint_uid=endpoint.uid,
            endpoint_name=endpoint.label,
            endpoint_status=endpoint.status.value,
            requester=caller.user_id,
            reason=reason,
            channel_id=caller.channel_id,
            now=datetime.now(UTC),
        )
        return ApprovalAsked(request, endpoint, already_open=False)

    async def decide(self, user_id: str, request_id: str, *, approve: bool) -> Decision:
        """An approver's Approve or Deny: checked, claimed exactly once, then carried out."""
        request = await self.approvals.get(request_id)
        if request is None:
            raise InvalidInput("This request no longer exists. Ask again if it is still needed.")
        if request.requester == user_id:
            raise Forbidden(
                "You cannot approve or deny your own request; another approver must. "
                "Nothing was changed."
            )
        await self.require(user_id, "approve" if approve else "deny")
        wanted = RequestState.APPROVING if approve else RequestState.DENIED
        claim = await self.approvals.claim(request_id, wanted, user_id)
        if claim.verdict == "missing":
            raise InvalidInput("This request no longer exists. Ask again if it is still needed.")
        if claim.verdict == "taken":
            state = "being approved" if claim.state == RequestState.APPROVING else claim.state
            raise AlreadyHandled(f"This request was already {state}.", claim.decided_by)
        if claim.verdict == "expired":
            return Decision(
                request.model_copy(update={"state": RequestState.EXPIRED}),
                RequestState.EXPIRED,
                None,
            )
        decided = request.model_copy(update={"decided_by": user_id, "state": wanted})
        if not approve:
            await self.approvals.close(decided, RequestState.DENIED, "denied")
            return Decision(decided, RequestState.DENIED, None)
        return await self._carry_out(decided)

    async def _carry_out(self, request: ApprovalRequest) -> Decision:
        try:
            change = await self._locked_change(
                request.action,
                request.endpoint_uid,
                request.endpoint_name,
                reenable_inactive=request.endpoint_status == EndpointStatus.INACTIVE.value,
            )
        except BotError:
            # Nothing was written: put the request back so an approver can try again.
            await self.approvals.set_fields(
                request.id, state=RequestState.PENDING.value, decided_by=""
            )
            raise
        await self.approvals.close(request, RequestState.APPROVED, change.outcome.value)
        approved = request.model_copy(
            update={"state": RequestState.APPROVED, "outcome": change.outcome.value}
        )
        return Decision(approved, RequestState.APPROVED, change)

    async def attach_message(self, request: ApprovalRequest, message_ts: str) -> None:
        """Remember where the request was posted, so it can be updated in place later."""
        await self.approvals.set_fields(request.id, message_ts=message_ts)

    # --- resolution ----------------------------------------------------------------------

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
