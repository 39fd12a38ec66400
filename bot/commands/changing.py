"""Pausing and resuming by command: `/convoy pause|resume`, a picked candidate, a confirmation."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from bot.access.policy import Access, Verb
from bot.access.roles import Role
from bot.audit import AuditLog
from bot.change.model import Caller, Change, Intent
from bot.commands.choices import ChoiceStore, Question
from bot.commands.resolver import Finder
from bot.commands.results import ChangeResult, Choice
from bot.commands.routing import ChangeRouter
from bot.convoy import looks_like_uid
from bot.durations import describe
from bot.errors import EndpointNotFound, InvalidInput
from bot.models import Action, Endpoint


class Changing:
    """Role check, resolution, then the routed change; one audit entry for each."""

    def __init__(
        self,
        access: Access,
        finder: Finder,
        router: ChangeRouter,
        choices: ChoiceStore,
        audit: AuditLog,
        *,
        max_pause: timedelta,
    ) -> None:
        self._access = access
        self._finder = finder
        self._router = router
        self._choices = choices
        self._audit = audit
        self.max_pause = max_pause

    async def change(
        self,
        caller: Caller,
        action: Action,
        text: str,
        reason: str,
        duration: timedelta | None = None,
    ) -> ChangeResult | Choice:
        """Pause (optionally for a while) or resume what the caller named, as their role allows."""
        intent = Intent(
            caller.user_id, reason, duration, channel_id=caller.channel_id, change_id=caller.trigger
        )
        async with self._audit.audited(caller.user_id, action.value, self._access.scope) as draft:
            draft.reason = reason
            # What was typed, until resolution names the endpoint (refusals come before that).
            if looks_like_uid(text):
                draft.endpoint_uid = text
            else:
                draft.endpoint_name = text
            if duration is not None and action is Action.RESUME:
                raise InvalidInput("Only a pause can have a duration.")
            if duration is not None and duration > self.max_pause:
                raise InvalidInput(
                    f"A timed pause can last at most {describe(self.max_pause)}. "
                    "Nothing was changed."
                )
            result = await self._change(caller, action, text, intent)
            draft.result(result)
        return result

    async def _change(
        self, caller: Caller, action: Action, text: str, intent: Intent
    ) -> ChangeResult | Choice:
        role = await self._access.require(caller.user_id, Verb(action.value))
        if role >= Role.OPERATOR and looks_like_uid(text):
            # The read under the lock doubles as the lookup: one GET, one write.
            with contextlib.suppress(EndpointNotFound):
                return await self._router.route(caller, action, text, role, intent)
        found = await self._finder.find_or_ask(caller.user_id, Question(action.value), text, intent)
        if isinstance(found, Choice):
            return found
        return await self._router.route(caller, action, found, role, intent)

    async def pick(
        self, caller: Caller, choice_id: str, uid: str
    ) -> tuple[Endpoint | ChangeResult, str]:
        """Claim a pick-one answer (once), re-check the role, and finish the command.

        Returns what happened and the reason the user gave with the original command.
        """
        async with self._audit.audited(caller.user_id, "pick", self._access.scope) as draft:
            picked = await self._choices.claim(choice_id, caller.user_id, uid, self._access.scope)
            question, reason = picked.choice.verb, picked.choice.reason
            duration_s = picked.choice.duration_s
            draft.command, draft.reason = question.value, reason
            if question is Question.REENABLE:
                raise InvalidInput("That button does not belong to a pick-one question.")
            # The command that asked the question was counted against the rate limit already.
            role = await self._access.require(caller.user_id, Verb(question.value), counted=False)
            if question is Question.STATUS:
                return await self._finder.get(uid), reason  # a read: no audit entry
            duration = timedelta(seconds=duration_s) if duration_s else None
            intent = Intent(
                caller.user_id,
                reason,
                duration,
                channel_id=caller.channel_id,
                change_id=caller.trigger,
            )
            result = await self._router.route(caller, Action(question.value), uid, role, intent)
            draft.result(result)
        return result, reason

    async def reenable(self, caller: Caller, confirmation_id: str, uid: str) -> Change:
        """The confirmed re-enabling of an endpoint Convoy disabled."""
        command = "resume (re-enable confirmed)"
        async with self._audit.audited(caller.user_id, command, self._access.scope) as draft:
            picked = await self._choices.claim(
                confirmation_id, caller.user_id, uid, self._access.scope
            )
            if picked.choice.verb is not Question.REENABLE:
                raise InvalidInput("That button does not confirm anything.")
            draft.reason = picked.choice.reason
            await self._access.require_operator(caller.user_id, "Re-enabling an endpoint")
            intent = Intent(caller.user_id, picked.choice.reason, change_id=caller.trigger)
            change = await self._router.reenable(uid, intent)
            draft.result(change)
        return change
