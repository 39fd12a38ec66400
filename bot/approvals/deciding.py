"""An approver's Approve or Deny: checked, claimed exactly once, then carried out (SPEC §5)."""

from __future__ import annotations

import contextlib

from bot.access.policy import Access, Verb
from bot.approvals.results import Decision
from bot.approvals.store import ApprovalRequest, ApprovalStore, ClaimVerdict, RequestState
from bot.audit import AuditEntry, AuditLog
from bot.change.locked_change import LockedChange, same_hold
from bot.change.model import Caller, Change, Intent
from bot.clock import Clock
from bot.errors import (
    AccessStoreUnavailable,
    AlreadyHandled,
    BotError,
    Forbidden,
    InvalidInput,
    StaleHold,
)
from bot.models import Action, EndpointStatus

GONE = "This request no longer exists. Ask again if it is still needed."


class Deciding:
    """Decides requests; the approved change runs as the requester's, credited to both."""

    def __init__(
        self,
        access: Access,
        approvals: ApprovalStore,
        change: LockedChange,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._access = access
        self._approvals = approvals
        self._change = change
        self._audit = audit
        self._clock = clock

    async def decide(
        self, caller: Caller, request_id: str, *, approve: bool, reason: str = ""
    ) -> Decision:
        """Approve, or deny (with the approver's reason, if they gave one)."""
        verb = Verb.APPROVE if approve else Verb.DENY
        user_id = caller.user_id
        async with self._audit.audited(user_id, verb.value, self._access.scope) as draft:
            decision = await self._decide(caller, request_id, verb, draft, reason)
            request = decision.request
            draft.actor, draft.approver, draft.reason = request.requester, user_id, request.reason
            draft.endpoint_uid, draft.endpoint_name = request.endpoint_uid, request.endpoint_name
            draft.command = f"{request.action.value} ({verb.value})"
            if decision.change is not None:
                draft.result(decision.change)
                draft.outcome = f"approved: {decision.change.outcome.value}"
            else:
                draft.outcome = decision.state.value
            if decision.state is RequestState.DENIED and request.decision_reason:
                draft.detail = f"denied because: {request.decision_reason}"
        return decision

    async def _decide(
        self, caller: Caller, request_id: str, verb: Verb, draft: AuditEntry, reason: str
    ) -> Decision:
        user_id = caller.user_id
        request = await self._approvals.get(request_id)
        if request is None:
            raise InvalidInput(GONE)
        draft.endpoint_uid, draft.endpoint_name = request.endpoint_uid, request.endpoint_name
        if request.project != self._access.scope:
            raise InvalidInput("That request belongs to another project. Nothing was changed.")
        if request.requester == user_id:
            raise Forbidden(
                "You cannot approve or deny your own request; another approver must. "
                "Nothing was changed."
            )
        await self._access.require(user_id, verb)
        wanted = RequestState.APPROVING if verb is Verb.APPROVE else RequestState.DENIED
        # Expiry and the approver's lease were written by other replicas: read the shared
        # time itself, not this replica's last sync of it.
        claim = await self._approvals.claim(request_id, wanted, user_id, await self._clock.sync())
        match claim.verdict:
            case ClaimVerdict.MISSING:
                raise InvalidInput(GONE)
            case ClaimVerdict.TAKEN:
                state = "being approved" if claim.state == RequestState.APPROVING else claim.state
                raise AlreadyHandled(f"This request was already {state}.", claim.decided_by)
            case ClaimVerdict.EXPIRED:
                expired = request.model_copy(update={"state": RequestState.EXPIRED})
                return Decision(expired, RequestState.EXPIRED, None)
        decided = request.model_copy(update={"decided_by": user_id, "state": wanted})
        if verb is Verb.DENY:
            decided = decided.model_copy(update={"decision_reason": reason})
            await self._approvals.close(decided, RequestState.DENIED, "denied")
            return Decision(decided, RequestState.DENIED, None)
        return await self._carry_out(decided, caller.trigger)

    async def _carry_out(self, request: ApprovalRequest, trigger: str) -> Decision:
        intent = Intent(
            request.requester,
            request.reason,
            request.duration,
            request.decided_by,
            request.channel_id,
            change_id=trigger,
            request_id=request.id,
        )
        # A resume is for the pause it was asked about: never a newer one.
        check = same_hold(request.hold_id) if request.action is Action.RESUME else None
        try:
            change = await self._change.run(
                request.action,
                request.endpoint_uid,
                request.endpoint_name,
                intent,
                reenable_inactive=request.endpoint_status == EndpointStatus.INACTIVE.value,
                check=check,
            )
        except StaleHold:
            await self._approvals.close(request, RequestState.OUTDATED, "pause over")
            outdated = request.model_copy(update={"state": RequestState.OUTDATED})
            return Decision(outdated, RequestState.OUTDATED, None)
        except BotError:
            # Nothing was written: put the request back so an approver can try again.
            await self._approvals.set_fields(
                request.id, state=RequestState.PENDING.value, decided_by="", lease_ts=""
            )
            raise
        if change.in_doubt:
            # Convoy may still apply it: the request is closed when the change is settled.
            return Decision(request, RequestState.APPROVING, change)
        return await self.close_approved(request, change)

    async def close_approved(self, request: ApprovalRequest, change: Change) -> Decision:
        """Record that the approved change was made (or settled), and say what it did."""
        with contextlib.suppress(AccessStoreUnavailable):
            # The change happened: a store failure must not turn it into an error report.
            await self._approvals.close(request, RequestState.APPROVED, change.outcome.value)
        approved = request.model_copy(
            update={"state": RequestState.APPROVED, "outcome": change.outcome.value}
        )
        return Decision(approved, RequestState.APPROVED, change)

    async def request(self, request_id: str) -> ApprovalRequest | None:
        return await self._approvals.get(request_id)

    async def withdraw(self, request: ApprovalRequest) -> None:
        """A request that could not be posted is taken back, so asking again works."""
        await self._approvals.close(request, RequestState.WITHDRAWN, "not posted")

    async def attach_message(self, request: ApprovalRequest, message_ts: str) -> None:
        """Remember where the request was posted, so it can be updated in place later."""
        await self._approvals.set_fields(request.id, message_ts=message_ts)
