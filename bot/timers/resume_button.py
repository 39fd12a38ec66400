"""The Resume button under a pause announcement: the first authorised click acts, once."""

from __future__ import annotations

from bot.access.policy import Access, Verb
from bot.access.roles import Role
from bot.approvals.claims import ButtonClaims
from bot.audit import AuditLog
from bot.change.locked_change import same_hold
from bot.change.model import Caller, Change, Intent, Outcome
from bot.commands.results import ChangeResult, RecordGone
from bot.commands.routing import ChangeRouter
from bot.errors import AlreadyHandled, BotError, InvalidInput, StaleHold
from bot.models import Action


class ResumeButton:
    """Operators resume (a button made for one pause never ends a later one); requesters ask."""

    def __init__(
        self, access: Access, claims: ButtonClaims, router: ChangeRouter, audit: AuditLog
    ) -> None:
        self._access = access
        self._claims = claims
        self._router = router
        self._audit = audit

    async def click(
        self, caller: Caller, uid: str, hold_id: str, message_ts: str, action_id: str
    ) -> ChangeResult | RecordGone:
        """Role, state and claim are checked afresh; later clicks hear who acted."""
        command = "resume button"
        async with self._audit.audited(caller.user_id, command, self._access.scope) as draft:
            result = await self._click(caller, uid, hold_id, message_ts, action_id)
            draft.result(result)
        return result

    async def _click(
        self, caller: Caller, uid: str, hold_id: str, message_ts: str, action_id: str
    ) -> ChangeResult | RecordGone:
        role = await self._access.require(caller.user_id, Verb.RESUME)
        if not hold_id:
            raise InvalidInput(
                "This Resume button does not say which pause it was made for (it was posted "
                "while the bot could not record the pause), so it could end a later one. "
                "Nothing was changed; use `/convoy resume <endpoint>`."
            )
        intent = Intent(caller.user_id, "Resume button", change_id=caller.trigger)
        check = same_hold(hold_id)
        if role < Role.OPERATOR:
            # A requester's click asks an approver; it takes no claim (the button stays for
            # whoever may resume), but a pause already over is said at once, as to operators.
            try:
                return await self._router.route(
                    caller, Action.RESUME, uid, role, intent, check=check, hold_id=hold_id
                )
            except StaleHold as stale:
                if not stale.record_gone:
                    raise
                return await self._router.record_gone(caller, uid)
        won, holder = await self._claims.take(
            caller.channel_id, message_ts, action_id, caller.user_id
        )
        if not won:
            raise AlreadyHandled("This Resume button was already used.", holder)
        try:
            result = await self._router.route(caller, Action.RESUME, uid, role, intent, check=check)
        except StaleHold as stale:
            await self._claims.release(caller.channel_id, message_ts, action_id)
            if not stale.record_gone:
                raise
            return await self._router.record_gone(caller, uid)
        except BotError:
            # Nothing was written (errors before a write raise; after one, a Change says so).
            await self._claims.release(caller.channel_id, message_ts, action_id)
            raise
        if isinstance(result, Change) and result.outcome is Outcome.NOT_CHANGED:
            # Convoy definitely did not change: the button may be tried again.
            await self._claims.release(caller.channel_id, message_ts, action_id)
        return result
