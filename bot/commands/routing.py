"""Where a change goes by the caller's role: operators change now, requesters ask an approver,
and resuming an endpoint Convoy disabled first asks the caller to confirm."""

from __future__ import annotations

from bot.access.roles import Role
from bot.approvals.asking import Asking
from bot.change.locked_change import HoldCheck, LockedChange
from bot.change.model import Caller, Change, Intent, Outcome
from bot.commands.choices import ChoiceStore, PendingChoice, Question
from bot.commands.resolver import Finder
from bot.commands.results import ChangeResult, NeedsConfirmation, RecordGone
from bot.models import Action, Endpoint


class ChangeRouter:
    """One change, routed by role; everything that writes goes through the locked change."""

    def __init__(
        self,
        change: LockedChange,
        asking: Asking,
        finder: Finder,
        confirmations: ChoiceStore,
    ) -> None:
        self._change = change
        self._asking = asking
        self._finder = finder
        self._confirmations = confirmations

    async def route(
        self,
        caller: Caller,
        action: Action,
        target: Endpoint | str,
        role: Role,
        intent: Intent,
        *,
        check: HoldCheck | None = None,
        hold_id: str | None = None,
    ) -> ChangeResult:
        """`target` is the endpoint, or just its uid: the read under the lock is the only one
        an operator's change needs. `hold_id`: the pause a Resume button was made for (a
        request made from it is bound to that pause)."""
        if role < Role.OPERATOR:
            if check is not None:
                await self._asking.refuse_stale(_uid_of(target), check)
            endpoint = target if isinstance(target, Endpoint) else await self._finder.get(target)
            return await self._asking.ask(caller, action, endpoint, intent, hold_id)
        uid, label = (target, target) if isinstance(target, str) else (target.uid, target.label)
        change = await self._change.run(action, uid, label, intent, check=check)
        return await self._confirm_if_inactive(caller, change, intent.reason)

    async def record_gone(self, caller: Caller, uid: str) -> RecordGone:
        """A Resume button's pause has no record: ask Convoy (bot.commands.resolver.Finder)."""
        return await self._finder.offer_resume(caller.user_id, uid)

    async def reenable(self, uid: str, intent: Intent) -> Change:
        """The confirmed resume of an endpoint Convoy disabled."""
        return await self._change.run(Action.RESUME, uid, uid, intent, reenable_inactive=True)

    async def _confirm_if_inactive(
        self, caller: Caller, change: Change, reason: str
    ) -> Change | NeedsConfirmation:
        if change.action is not Action.RESUME or change.outcome is not Outcome.INACTIVE:
            return change
        confirmation_id = await self._confirmations.save(
            PendingChoice(
                user_id=caller.user_id,
                verb=Question.REENABLE,
                project=self._change.project,
                reason=reason,
                uids=[change.endpoint.uid],
            )
        )
        return NeedsConfirmation(confirmation_id, change.endpoint, reason, self._change.project)


def _uid_of(target: Endpoint | str) -> str:
    return target.uid if isinstance(target, Endpoint) else target
