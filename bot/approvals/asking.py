"""A requester's change becomes an approval request, posted for approvers (SPEC §5)."""

from __future__ import annotations

from bot.approvals.results import ApprovalAsked
from bot.approvals.store import ApprovalStore, NewRequest
from bot.change.holds import HoldStore
from bot.change.locked_change import HoldCheck
from bot.change.model import Caller, Intent
from bot.clock import Clock
from bot.models import Action, Endpoint


class Asking:
    """Opens one request per endpoint and action at a time; a repeat finds the open one.

    A resume request is bound to the bot's pause it was asked about: approved later, it
    never ends a newer pause.
    """

    def __init__(
        self, approvals: ApprovalStore, holds: HoldStore, clock: Clock, project: str
    ) -> None:
        self._approvals = approvals
        self._holds = holds
        self._clock = clock
        self.project = project

    async def refuse_stale(self, uid: str, check: HoldCheck) -> None:
        """StaleHold when a button's pause is no longer the bot's current one: a request made
        from it could only end "outdated", so the asker hears at once (as an operator would)."""
        stale = check(await self._holds.get(self.project, uid))
        if stale is not None:
            raise stale

    async def ask(
        self,
        caller: Caller,
        action: Action,
        endpoint: Endpoint,
        intent: Intent,
        hold_id: str | None = None,
    ) -> ApprovalAsked:
        """`hold_id`: the pause a Resume button was made for; else the current one."""
        now = self._clock.now()
        if action is Action.RESUME and hold_id is None:
            current = await self._holds.get(self.project, endpoint.uid)
            hold_id = current.hold_id if current else ""
        existing = await self._approvals.open_request_for(self.project, endpoint.uid, action, now)
        if existing is not None:
            return ApprovalAsked(existing, endpoint, already_open=True)
        request = await self._approvals.create(
            NewRequest(
                action=action,
                project=self.project,
                endpoint_uid=endpoint.uid,
                endpoint_name=endpoint.label,
                endpoint_status=endpoint.status.value,
                requester=caller.user_id,
                reason=intent.reason,
                channel_id=caller.channel_id,
                duration_s=str(int(intent.duration.total_seconds())) if intent.duration else "",
                hold_id=hold_id or "",
            ),
            now,
        )
        return ApprovalAsked(request, endpoint, already_open=False)
