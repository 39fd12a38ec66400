"""An approver's Approve or Deny: checked, claimed exactly once, then carried out (SPEC §5)."""

from __future__ import annotations

import contextlib

from bot.access import Access, Verb
from bot.approvals import ApprovalRequest, ApprovalStore, ClaimVerdict, RequestState
from bot.audit import AuditEntry, AuditLog
from bot.changes import Intent
from bot.clock import Clock
from bot.errors import AccessStoreUnavailable, AlreadyHandled, BotError, Forbidden, InvalidInput
from bot.locked_change import LockedChange
from bot.models import EndpointStatus
from bot.results import Decision

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

    async def decide(self, user_id: str, request_id: str, *, approve: bool) -> Decision:
        verb = Verb.APPROVE if approve else Verb.DENY
        async with self._audit.audited(user_id, verb.value, self._access.project) as draft:
            decision = await self._decide(user_id, request_id, verb, draft)
            request = decision.request
            draft.actor, draft.approver, draft.reason = request.requester, user_id, request.reason
            draft.endpoint_uid, draft.endpoint_name = request.endpoint_uid, request.endpoint_name
            draft.command = f"{request.action.value} ({verb.value})"
            if decision.change is not None:
                draft.result(decision.change)
                draft.outcome = f"approved: {decision.change.outcome.value}"
            else:
                draft.outcome = decision.state.value
        return decision

    async def _decide(
        self, user_id: str, request_id: str, verb: Verb, draft: AuditEntry
    ) -> Decision:
        request = await self._approvals.get(request_id)
        if request is None:
            raise InvalidInput(GONE)
        draft.endpoint_uid, draft.endpoint_name = request.endpoint_uid, request.endpoint_name
        if request.requester == user_id:
            raise Forbidden(
                "You cannot approve or deny your own request; another approver must. "
                "Nothing was changed."
            )
        await self._access.require(user_id, verb)
        wanted = RequestState.APPROVING if verb is Verb.APPROVE else RequestState.DENIED
        claim = await self._approvals.claim(request_id, wanted, user_id, self._clock.now())
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
            await self._approvals.close(decided, RequestState.DENIED, "denied")
            return Decision(decided, RequestState.DENIED, None)
        return await self._carry_out(decided)

    async def _carry_out(self, request: ApprovalRequest) -> Decision:
        intent = Intent(
            request.requester,
            request.reason,
            request.duration,
            request.decided_by,
            request.channel_id,
        )
        try:
            change = await self._change.run(
                request.action,
                request.endpoint_uid,
                request.endpoint_name,
                intent,
                reenable_inactive=request.endpoint_status == EndpointStatus.INACTIVE.value,
            )
        except BotError:
            # Nothing was written: put the request back so an approver can try again.
            await self._approvals.set_fields(
                request.id, state=RequestState.PENDING.value, decided_by=""
            )
            raise
        with contextlib.suppress(AccessStoreUnavailable):
            # The change happened: a store failure must not turn it into an error report.
            await self._approvals.close(request, RequestState.APPROVED, change.outcome.value)
        approved = request.model_copy(
            update={"state": RequestState.APPROVED, "outcome": change.outcome.value}
        )
        return Decision(approved, RequestState.APPROVED, change)

    async def withdraw(self, request: ApprovalRequest) -> None:
        """A request that could not be posted is taken back, so asking again works."""
        await self._approvals.close(request, RequestState.WITHDRAWN, "not posted")

    async def attach_message(self, request: ApprovalRequest, message_ts: str) -> None:
        """Remember where the request was posted, so it can be updated in place later."""
        await self._approvals.set_fields(request.id, message_ts=message_ts)
