"""The bot's use cases: who may do what to which endpoint, and doing it safely (SPEC §4-§5)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar, cast

from bot.approvals import ApprovalRequest, ApprovalStore, RequestState
from bot.audit import AuditEntry, AuditLog
from bot.changes import Action, Change, Outcome, ResumeSummary
from bot.choices import ChoiceStore, PendingChoice
from bot.claims import ButtonClaims
from bot.clock import Clock
from bot.convoy import ConvoyClient, looks_like_uid
from bot.durations import describe
from bot.errors import (
    AccessStoreUnavailable,
    AlreadyHandled,
    BotError,
    ConvoyError,
    EndpointNotFound,
    Forbidden,
    InvalidInput,
    TooManyChanges,
)
from bot.holds import Hold, HoldStore, parse_member
from bot.locks import EndpointLocks, HeldLock
from bot.models import Endpoint, EndpointStatus
from bot.rate_limits import ChangeRateLimiter
from bot.resolver import Candidates, resolve
from bot.roles import GLOBAL_SCOPE, Grant, Role, RoleStore

MAX_NAMED_ADMINS = 5
VERB_NEEDS = {
    "status": Role.VIEWER,
    "list": Role.VIEWER,
    "pause": Role.REQUESTER,
    "resume": Role.REQUESTER,
    "approve": Role.APPROVER,
    "deny": Role.APPROVER,
    "audit": Role.VIEWER,
    "paused": Role.VIEWER,
    "extend": Role.OPERATOR,
    "keep paused": Role.OPERATOR,
    "retry discarded": Role.OPERATOR,
    "roles": Role.ADMIN,
}
MAX_AUDIT_LIMIT = 50
COUNTED_VERBS = frozenset({"pause", "resume"})
MAX_RETRY_WINDOW = timedelta(days=7)
DISCARDED = "Discarded"  # Convoy's status for deliveries that arrived while paused
T = TypeVar("T")
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


@dataclass(frozen=True)
class AutoResume:
    """What a due timer did: the hold it ended and the change, or why it did nothing."""

    hold: Hold | None
    change: Change | None
    skipped: str


@dataclass(frozen=True)
class HeldPause:
    """An entry of `/convoy paused`: a hold, and whether Convoy says it is over."""

    hold: Hold
    stale: bool


@dataclass(frozen=True)
class Intent:
    """Who asked for a change, why, and for how long (a timed pause)."""

    actor: str
    reason: str = ""
    duration: timedelta | None = None
    approver: str = ""
    channel_id: str = ""


@dataclass
class AuditDraft:
    """The audit entry of one use case, filled in as it runs; empty outcome = nothing to log."""

    actor: str
    command: str
    project: str
    outcome: str = ""
    endpoint_uid: str = ""
    endpoint_name: str = ""
    approver: str = ""
    convoy_status: str = ""
    detail: str = ""
    reason: str = ""

    def endpoint(self, endpoint: Endpoint) -> None:
        self.endpoint_uid, self.endpoint_name = endpoint.uid, endpoint.label

    def result(self, result: object) -> None:
        """Fill the outcome from what a change use case returned."""
        match result:
            case Change():
                self.endpoint(result.endpoint)
                self.outcome = result.outcome.value
                self.convoy_status = result.write_status
                self.detail = result.detail
            case ApprovalAsked():
                self.endpoint(result.endpoint)
                self.outcome = "already requested" if result.already_open else "approval requested"
                self.detail = f"request {result.request.id}"
            case NeedsConfirmation():
                self.endpoint(result.endpoint)
                self.outcome = "confirmation asked"

    def entry(self) -> AuditEntry:
        return AuditEntry(
            actor=self.actor,
            command=self.command,
            outcome=self.outcome,
            endpoint_uid=self.endpoint_uid,
            endpoint_name=self.endpoint_name,
            project=self.project,
            approver=self.approver,
            convoy_status=self.convoy_status,
            reason=self.reason[:500],
            detail=self.detail[:300],
        )


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
        audit: AuditLog,
        rate: ChangeRateLimiter,
        holds: HoldStore,
        clock: Clock,
        max_pause: timedelta,
    ) -> None:
        self.convoy = convoy
        self.roles = roles
        self.locks = locks
        self.choices = choices
        self.approvals = approvals
        self.claims = claims
        self.audit = audit
        self.rate = rate
        self.holds = holds
        self.clock = clock
        self.max_pause = max_pause

    @property
    def project(self) -> str:
        return self.convoy.default_project

    # --- audit ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _audited(self, actor: str, command: str) -> AsyncIterator[AuditDraft]:
        """Record exactly one entry for the use case: its outcome, refusal or failure."""
        draft = AuditDraft(actor, command, self.project)
        try:
            yield draft
        except (Forbidden, AlreadyHandled, InvalidInput, TooManyChanges) as exc:
            draft.outcome, draft.detail = "refused", exc.message
            await self.audit.record(draft.entry())
            raise
        except BotError as exc:
            draft.outcome = "failed"
            draft.detail = exc.message
            if isinstance(exc, ConvoyError):
                draft.convoy_status = exc.status
            if not isinstance(exc, AccessStoreUnavailable):  # Redis is gone: nowhere to write
                await self.audit.record(draft.entry())
            raise
        if draft.outcome:
            await self.audit.record(draft.entry())

    async def audit_trail(self, user_id: str, endpoint: str, limit: int) -> list[AuditEntry]:
        """The latest entries, newest first, optionally about one endpoint (viewer+)."""
        async with self._audited(user_id, "audit"):
            await self.require(user_id, "audit")
        return await self.audit.latest(max(1, min(limit, MAX_AUDIT_LIMIT)), endpoint)

    # --- role administration -------------------------------------------------------------

    async def grant_role(self, actor: str, subject: str, role: Role, project: str) -> Grant:
        """An admin gives a user or user group a role, never leaving the project without admins."""
        async with self._audited(actor, "roles grant") as draft:
            draft.detail = f"{subject} {role.label} {project}"
            await self._require_admin_of(actor, project)
            await self._keep_an_admin(subject, project, role)
            await self.roles.grant(subject, role, project)
            draft.outcome = f"granted {role.label} to {subject} in {project}"
        return Grant(subject, project, role)

    async def revoke_role(self, actor: str, subject: str, project: str) -> bool:
        """An admin removes a role; whether there was one to remove."""
        async with self._audited(actor, "roles revoke") as draft:
            draft.detail = f"{subject} {project}"
            await self._require_admin_of(actor, project)
            await self._keep_an_admin(subject, project, Role.NONE)
            removed = await self.roles.revoke(subject, project)
            draft.outcome = f"revoked {subject} in {project}" if removed else "nothing to revoke"
        return removed

    async def list_roles(self, actor: str, project: str) -> list[Grant]:
        async with self._audited(actor, "roles list"):
            await self.require(actor, "roles")
        return await self.roles.grants(None if project == GLOBAL_SCOPE else project)

    async def _require_admin_of(self, actor: str, project: str) -> None:
        """Roles in a scope are managed by its admins: `*` by global admins only."""
        await self.require(actor, "roles")
        if project != self.project and await self.roles.effective_role(actor, project) < Role.ADMIN:
            where = "every project (`*`)" if project == GLOBAL_SCOPE else f"project {project}"
            raise Forbidden(
                f"Managing roles in {where} needs the *admin* role there. Nothing was changed."
            )

    async def _keep_an_admin(self, subject: str, project: str, new_role: Role) -> None:
        if await self.roles.admins_left_after(subject, project, new_role) == 0:
            raise Forbidden(
                "That would leave no admin who can manage roles here. "
                "Grant admin to someone else first. Nothing was changed."
            )

    # --- roles ---------------------------------------------------------------------------

    async def require(self, user_id: str, verb: str, *, counted: bool = True) -> Role:
        """The caller's role, or Forbidden naming the role needed and who grants it.

        Changes (pause, resume) also count against the caller's per-minute limit; both
        lookups go to Redis at once.
        """
        needed = VERB_NEEDS[verb]
        counter = self.rate.counter(user_id) if counted and verb in COUNTED_VERBS else None
        role, used = await self.roles.effective_role_counting(user_id, self.project, counter)
        if role >= needed and self.rate.exceeded(used):
            raise TooManyChanges(
                f"You have asked for more than {self.rate.limit} changes in a minute; "
                "wait a moment and try again. Nothing was changed."
            )
        if role < needed:
            has = f"your role is *{role.label}*" if role else "you have no role yet"
            raise Forbidden(
                f"`{verb}` needs the *{needed.label}* role in project {self.project}; "
                f"{has}. An admin can grant it with `/convoy roles grant`. Nothing was changed.",
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
        async with self._audited(user_id, "status"):
            await self.require(user_id, "status")
        return await self._resolve_or_ask(user_id, "status", text)

    async def list_endpoints(self, user_id: str, search: str) -> list[Endpoint]:
        async with self._audited(user_id, "list"):
            await self.require(user_id, "list")
        return await self.convoy.search_endpoints(search, self.project)

    # --- changing ------------------------------------------------------------------------

    async def change(
        self,
        caller: Caller,
        action: Action,
        text: str,
        reason: str,
        duration: timedelta | None = None,
    ) -> Change | Choice | ApprovalAsked | NeedsConfirmation:
        """Pause (optionally for a while) or resume what the caller named, as their role allows."""
        intent = Intent(caller.user_id, reason, duration, channel_id=caller.channel_id)
        async with self._audited(caller.user_id, action.value) as draft:
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
        return await self._with_resume_summary(result)

    async def _change(
        self, caller: Caller, action: Action, text: str, intent: Intent
    ) -> Change | Choice | ApprovalAsked | NeedsConfirmation:
        role = await self.require(caller.user_id, action.value)
        if role >= Role.OPERATOR and looks_like_uid(text):
            # The read under the lock doubles as the lookup: one GET, one write.
            with contextlib.suppress(EndpointNotFound):
                change = await self._locked_change(action, text, text, intent)
                return await self._confirm_if_inactive(caller, change, intent.reason)
        found = await self._resolve_or_ask(caller.user_id, action.value, text, intent)
        if isinstance(found, Choice):
            return found
        return await self._change_endpoint(caller, action, found, role, intent)

    async def _change_endpoint(
        self,
        caller: Caller,
        action: Action,
        target: Endpoint | str,
        role: Role,
        intent: Intent,
    ) -> Change | ApprovalAsked | NeedsConfirmation:
        """Operators and up change it under the endpoint's lock; requesters ask an approver.

        `target` is the endpoint, or just its uid: the read under the lock is the only one an
        operator's change needs."""
        if role < Role.OPERATOR:
            endpoint = target
            if isinstance(endpoint, str):
                endpoint = await self.convoy.get_endpoint(endpoint, self.project)
            return await self._ask_approval(caller, action, endpoint, intent)
        uid, label = (target, target) if isinstance(target, str) else (target.uid, target.label)
        change = await self._locked_change(action, uid, label, intent)
        return await self._confirm_if_inactive(caller, change, intent.reason)

    async def pick(
        self, caller: Caller, choice_id: str, uid: str
    ) -> tuple[Endpoint | Change | ApprovalAsked | NeedsConfirmation, str]:
        """Claim a pick-one answer (once), re-check the role, and finish the command.

        Returns what happened and the reason the user gave with the original command.
        """
        result: Endpoint | Change | ApprovalAsked | NeedsConfirmation
        async with self._audited(caller.user_id, "pick") as draft:
            picked = await self.choices.claim(choice_id, caller.user_id, uid)
            verb, reason = picked.choice.verb, picked.choice.reason
            duration = (
                timedelta(seconds=picked.choice.duration_s) if picked.choice.duration_s else None
            )
            draft.command, draft.reason = verb, reason
            if verb not in ("status", Action.PAUSE.value, Action.RESUME.value):
                raise InvalidInput("That button does not belong to a pick-one question.")
            # The command that asked the question was counted against the rate limit already.
            role = await self.require(caller.user_id, verb, counted=False)
            if verb == "status":
                return await self.convoy.get_endpoint(uid, self.project), reason  # no audit
            intent = Intent(caller.user_id, reason, duration, channel_id=caller.channel_id)
            result = await self._change_endpoint(caller, Action(verb), uid, role, intent)
            draft.result(result)
        return await self._with_resume_summary(result), reason

    async def reenable(self, caller: Caller, confirmation_id: str, uid: str) -> Change:
        """The confirmed re-enabling of an endpoint Convoy disabled."""
        async with self._audited(caller.user_id, "resume (re-enable confirmed)") as draft:
            picked = await self.choices.claim(confirmation_id, caller.user_id, uid)
            if picked.choice.verb != REENABLE:
                raise InvalidInput("That button does not confirm anything.")
            draft.reason = picked.choice.reason
            role = await self.require(caller.user_id, "resume")
            if role < Role.OPERATOR:
                raise Forbidden(
                    "Re-enabling an endpoint needs the *operator* role. Nothing was changed."
                )
            intent = Intent(caller.user_id, picked.choice.reason)
            change = await self._locked_change(
                Action.RESUME, uid, uid, intent, reenable_inactive=True
            )
            draft.result(change)
        return await self._with_resume_summary(change)

    async def resume_from_message(
        self, caller: Caller, uid: str, hold_id: str, message_ts: str, action_id: str
    ) -> Change | ApprovalAsked | NeedsConfirmation:
        """The Resume button: the first authorised click acts; later ones hear who did.

        A button made for one pause (`hold_id`) never resumes a later one.
        """
        async with self._audited(caller.user_id, "resume button") as draft:
            result = await self._resume_from_message(caller, uid, hold_id, message_ts, action_id)
            draft.result(result)
        return await self._with_resume_summary(result)

    async def _resume_from_message(
        self, caller: Caller, uid: str, hold_id: str, message_ts: str, action_id: str
    ) -> Change | ApprovalAsked | NeedsConfirmation:
        role = await self.require(caller.user_id, "resume")
        intent = Intent(caller.user_id, "Resume button")
        if role < Role.OPERATOR:
            endpoint = await self.convoy.get_endpoint(uid, self.project)
            return await self._ask_approval(caller, Action.RESUME, endpoint, intent)
        won, holder = await self.claims.take(
            caller.channel_id, message_ts, action_id, caller.user_id
        )
        if not won:
            raise AlreadyHandled("This Resume button was already used.", holder)
        try:
            change = await self._locked_change(
                Action.RESUME, uid, uid, intent, expected_hold=hold_id
            )
        except BotError:
            # Nothing was written (errors before a write raise; after one, a Change says so).
            await self.claims.release(caller.channel_id, message_ts, action_id)
            raise
        if change.outcome is Outcome.NOT_CHANGED:
            # Convoy definitely did not change: the button may be tried again.
            await self.claims.release(caller.channel_id, message_ts, action_id)
        return await self._confirm_if_inactive(caller, change, "Resume button")

    async def _locked_change(
        self,
        action: Action,
        uid: str,
        label: str,
        intent: Intent,
        *,
        reenable_inactive: bool = False,
        expected_hold: str = "",
    ) -> Change:
        """The Convoy write and the bot's hold bookkeeping, together under the endpoint's lock.

        `expected_hold`: a button made for one pause acts only while that pause is current.
        """
        async with self.locks.hold(self.project, uid, label) as lock:
            if expected_hold:
                current = await self.holds.get(self.project, uid)
                if current is None or current.hold_id != expected_hold:
                    raise InvalidInput(
                        "That message's pause is over (the endpoint was resumed, or paused "
                        "again since). Nothing was changed; use `/convoy status` to check."
                    )
            if action is Action.PAUSE:
                change = await self.convoy.ensure_paused(uid, self.project)
            else:
                change = await self.convoy.ensure_active(
                    uid, self.project, reenable_inactive=reenable_inactive
                )
            return await self._book_hold(change, intent, lock)

    async def _book_hold(self, change: Change, intent: Intent, lock: HeldLock) -> Change:
        """Record the pause the bot made, or end the hold of an endpoint that is active now.

        The change already happened in Convoy: if Redis fails here, the change is still
        reported, with a note of what the bot could not record.
        """
        try:
            return await self._book_hold_in_redis(change, intent, lock)
        except AccessStoreUnavailable:
            missed = (
                " No auto-resume was scheduled: resume it by hand."
                if intent.duration and change.outcome is Outcome.PAUSED
                else ""
            )
            note = f"The bot could not record this in its store (Redis unavailable).{missed}"
            return replace(change, detail=f"{change.detail} {note}".strip())

    async def _book_hold_in_redis(self, change: Change, intent: Intent, lock: HeldLock) -> Change:
        # The lock's release rides in the same round trip as the hold's own writes.
        endpoint = change.endpoint
        if change.outcome is Outcome.PAUSED:
            hold = await self.holds.record(
                project=self.project,
                uid=endpoint.uid,
                name=endpoint.label,
                actor=intent.actor,
                approver=intent.approver,
                reason=intent.reason,
                now=self.clock.now(),
                duration=intent.duration,
                channel_id=intent.channel_id,
                also=lock.release_in,
            )
            return replace(change, hold=hold)
        if endpoint.status is EndpointStatus.ACTIVE:
            released = await self.holds.release(self.project, endpoint.uid, also=lock.release_in)
            # Only a pause the bot made has a known start: Convoy records none.
            if change.outcome is Outcome.RESUMED and released is not None:
                summary = ResumeSummary(released.paused_since, self.clock.now(), True, None)
                return replace(change, resumed=summary)
        return change

    async def _with_resume_summary(self, result: T) -> T:
        """After a resume (outside the lock: it is only a read), count what was discarded."""
        if not isinstance(result, Change) or result.resumed is None:
            return result
        summary = result.resumed
        try:
            count, complete = await self.convoy.count_deliveries(
                result.endpoint.uid, DISCARDED, summary.paused_since, summary.resumed_at
            )
            counted = replace(summary, discarded=count, counted_all=complete)
        except ConvoyError as exc:
            counted = replace(summary, problem=exc.message)
        return cast(T, replace(result, resumed=counted))

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

    # --- timed pauses --------------------------------------------------------------------

    async def auto_resume(self, timer: str) -> AutoResume:
        """Run one due timer: resume only if the bot's hold is still the pause, still due."""
        project, uid, hold_id = parse_member(timer)
        hold = await self.holds.get(project, uid)
        if not self._due(hold, hold_id) or hold is None:
            return AutoResume(None, None, "the pause it belonged to is over")
        intent = Intent(hold.actor, f"auto-resume after a timed pause: {hold.reason}".strip())
        note = f"by the bot on behalf of {hold.actor}"
        async with self._audited(hold.actor, "auto-resume") as draft:
            draft.endpoint_uid, draft.endpoint_name, draft.reason = hold.uid, hold.name, hold.reason
            draft.detail = note
            async with self.locks.hold(project, uid, hold.name) as lock:
                # Keep paused or Extend may have won the race for this timer: read again.
                if not self._due(await self.holds.get(project, uid), hold_id):
                    return AutoResume(None, None, "kept or extended meanwhile")
                skipped = await self._not_resumable(hold)
                if skipped:
                    await self.holds.release(project, uid, hold.hold_id)
                    draft.outcome, draft.detail = "auto-resume skipped", f"{note}; {skipped}"
                    return AutoResume(hold, None, skipped)
                change = await self.convoy.ensure_active(uid, project)
                change = await self._book_hold(change, intent, lock)
            draft.result(change)
            draft.detail = f"{note}; {change.detail}" if change.detail else note
        return AutoResume(hold, await self._with_resume_summary(change), "")

    def _due(self, hold: Hold | None, hold_id: str) -> bool:
        return (
            hold is not None
            and hold.hold_id == hold_id
            and hold.resumes_at is not None
            and hold.resumes_at <= self.clock.now()
        )

    async def _not_resumable(self, hold: Hold) -> str:
        """Why the endpoint must not be auto-resumed now ("" if it may)."""
        try:
            endpoint = await self.convoy.get_endpoint(hold.uid, hold.project)
        except EndpointNotFound:
            return "the endpoint no longer exists in Convoy"
        if endpoint.status is not EndpointStatus.PAUSED:
            status = endpoint.status.value or "in an unknown state"
            return f"it is {status} now, not paused: someone changed it outside the bot"
        return ""

    async def due_reminder(self, timer: str) -> Hold | None:
        """The hold a due reminder is about, if that timer still stands."""
        project, uid, hold_id = parse_member(timer)
        hold = await self.holds.get(project, uid)
        if hold is None or hold.hold_id != hold_id or hold.resumes_at is None:
            return None
        if hold.resumes_at <= self.clock.now():
            return None  # overdue: the auto-resume itself is about to say what happened
        return hold

    async def extend_pause(
        self, user_id: str, uid: str, hold_id: str, seen_due: str, by: timedelta
    ) -> tuple[Hold, datetime]:
        """Push the auto-resume back (operator+), if nobody changed it since the click's view."""
        async with self._audited(user_id, "extend pause") as draft:
            draft.endpoint_uid = uid
            await self.require(user_id, "extend")
            # Under the endpoint's lock: never while this pause's auto-resume is running.
            async with self.locks.hold(self.project, uid, uid):
                hold = await self._current_hold(uid, hold_id)
                draft.endpoint_name = hold.name
                if seen_due and float(seen_due) + by.total_seconds() - float(hold.paused_at) > (
                    self.max_pause.total_seconds()
                ):
                    raise InvalidInput(
                        f"A timed pause can last at most {describe(self.max_pause)} in all. "
                        "Use Keep paused to hold it until someone resumes it."
                    )
                due = await self.holds.extend(hold, seen_due, by, self.clock.now())
            draft.outcome = f"auto-resume moved to {due.isoformat(timespec='seconds')}"
        return hold, due

    async def keep_paused(self, user_id: str, uid: str, hold_id: str) -> Hold:
        """Cancel the auto-resume (operator+): it stays paused until someone resumes it."""
        async with self._audited(user_id, "keep paused") as draft:
            draft.endpoint_uid = uid
            await self.require(user_id, "keep paused")
            async with self.locks.hold(self.project, uid, uid):
                hold = await self._current_hold(uid, hold_id)
                draft.endpoint_name = hold.name
                await self.holds.keep(hold)
            draft.outcome = "auto-resume cancelled"
        return hold

    async def _current_hold(self, uid: str, hold_id: str) -> Hold:
        hold = await self.holds.get(self.project, uid)
        if hold is None or hold.hold_id != hold_id:
            raise InvalidInput("That pause is over. Nothing was changed.")
        return hold

    async def retry_discarded(
        self, user_id: str, uid: str, start: datetime, end: datetime, message_ts: str
    ) -> int:
        """Ask Convoy to retry what it discarded while the endpoint was paused (operator+)."""
        async with self._audited(user_id, "retry discarded") as draft:
            draft.endpoint_uid = uid
            await self.require(user_id, "retry discarded")
            if not start < end or end - start > MAX_RETRY_WINDOW:
                raise InvalidInput("That button is damaged; nothing was retried.")
            won, holder = await self.claims.take(
                "retry", message_ts, f"{uid}:{start.timestamp()}", user_id
            )
            if not won:
                raise AlreadyHandled("Those events were already sent for retry.", holder)
            try:
                count, _ = await self.convoy.count_deliveries(
                    uid, DISCARDED, start, end, self.project
                )
                await self.convoy.retry_deliveries(uid, DISCARDED, start, end, self.project)
            except ConvoyError:
                # Convoy did not take it: let the button be used again. (A retry Convoy took
                # but did not confirm could then run twice; Convoy re-sends, it never toggles.)
                await self.claims.release("retry", message_ts, f"{uid}:{start.timestamp()}")
                raise
            draft.outcome = f"retry requested for {count} discarded deliveries"
            draft.convoy_status = "200"
        return count

    async def paused_endpoints(self, user_id: str) -> list[HeldPause]:
        """Every pause the bot holds, checked against Convoy; stale ones are dropped."""
        async with self._audited(user_id, "paused"):
            await self.require(user_id, "paused")
        found = []
        for hold in await self.holds.all():
            if hold.project != self.project:
                continue
            try:
                endpoint = await self.convoy.get_endpoint(hold.uid, self.project)
                stale = endpoint.status is not EndpointStatus.PAUSED
            except EndpointNotFound:
                stale = True
            if stale:
                await self.holds.release(hold.project, hold.uid, hold.hold_id)
            found.append(HeldPause(hold, stale))
        return found

    # --- approvals -----------------------------------------------------------------------

    async def _ask_approval(
        self, caller: Caller, action: Action, endpoint: Endpoint, intent: Intent
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
            reason=intent.reason,
            channel_id=caller.channel_id,
            now=self.clock.now(),
            duration=intent.duration,
        )
        return ApprovalAsked(request, endpoint, already_open=False)

    async def decide(self, user_id: str, request_id: str, *, approve: bool) -> Decision:
        """An approver's Approve or Deny: checked, claimed exactly once, then carried out."""
        async with self._audited(user_id, "approve" if approve else "deny") as draft:
            decision = await self._decide(user_id, request_id, approve, draft)
            request = decision.request
            draft.actor, draft.approver, draft.reason = request.requester, user_id, request.reason
            draft.endpoint_uid, draft.endpoint_name = request.endpoint_uid, request.endpoint_name
            draft.command = f"{request.action.value} ({'approve' if approve else 'deny'})"
            if decision.change is not None:
                draft.result(decision.change)
                draft.outcome = f"approved: {decision.change.outcome.value}"
            else:
                draft.outcome = decision.state.value
        return decision

    async def _decide(
        self, user_id: str, request_id: str, approve: bool, draft: AuditDraft
    ) -> Decision:
        request = await self.approvals.get(request_id)
        if request is None:
            raise InvalidInput("This request no longer exists. Ask again if it is still needed.")
        draft.endpoint_uid, draft.endpoint_name = request.endpoint_uid, request.endpoint_name
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
                Intent(
                    request.requester,
                    request.reason,
                    request.duration,
                    request.decided_by,
                    request.channel_id,
                ),
                reenable_inactive=request.endpoint_status == EndpointStatus.INACTIVE.value,
            )
        except BotError:
            # Nothing was written: put the request back so an approver can try again.
            await self.approvals.set_fields(
                request.id, state=RequestState.PENDING.value, decided_by=""
            )
            raise
        with contextlib.suppress(AccessStoreUnavailable):
            # The change happened: a store failure must not turn it into an error report.
            await self.approvals.close(request, RequestState.APPROVED, change.outcome.value)
        approved = request.model_copy(
            update={"state": RequestState.APPROVED, "outcome": change.outcome.value}
        )
        return Decision(approved, RequestState.APPROVED, await self._with_resume_summary(change))

    async def withdraw_request(self, request: ApprovalRequest) -> None:
        """A request that could not be posted is taken back, so asking again works."""
        await self.approvals.close(request, RequestState.WITHDRAWN, "not posted")

    async def attach_message(self, request: ApprovalRequest, message_ts: str) -> None:
        """Remember where the request was posted, so it can be updated in place later."""
        await self.approvals.set_fields(request.id, message_ts=message_ts)

    # --- resolution ----------------------------------------------------------------------

    async def _resolve_or_ask(
        self, user_id: str, verb: str, text: str, intent: Intent | None = None
    ) -> Endpoint | Choice:
        found = await resolve(self.convoy, text, self.project)
        if isinstance(found, Endpoint):
            return found
        choice_id = await self.choices.save(
            PendingChoice(
                user_id=user_id,
                verb=verb,
                project=self.project,
                reason=intent.reason if intent else "",
                uids=[e.uid for e in found.endpoints],
                duration_s=int(intent.duration.total_seconds())
                if intent and intent.duration
                else 0,
            )
        )
        return Choice(choice_id, verb, found)
