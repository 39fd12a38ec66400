"""The failing card's buttons: Pause and Pause 30m through the same use case as
`/convoy pause` (its role check, approval for requesters, lock and audit), the first click of
an episode acting once; and Snooze, which silences an endpoint's cards for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.access.policy import Access, Verb
from bot.approvals.claims import ButtonClaims
from bot.approvals.results import ApprovalAsked
from bot.audit import AuditLog
from bot.change.model import Caller, Change, Outcome
from bot.clock import Clock
from bot.commands.changing import Changing
from bot.commands.resolver import Finder
from bot.commands.results import ChangeResult, Choice
from bot.errors import AlreadyHandled, BotError, InvalidInput
from bot.models import Action, Endpoint
from bot.watch.store import WatchStore

CARD_REASON = "from the failing card"


class CardPause:
    """Pause from a failing card: one pause per episode, whichever of its copies is clicked."""

    def __init__(self, claims: ButtonClaims, changing: Changing, scope: str) -> None:
        self._claims = claims
        self._changing = changing
        self._scope = scope

    async def pause(
        self, caller: Caller, uid: str, card_id: str, duration: timedelta | None
    ) -> ChangeResult | Choice:
        # One claim per episode, not per message: the card is in every bound channel.
        claim = (f"watch:{self._scope}", card_id, "card")
        won, holder = await self._claims.take(*claim, caller.user_id)
        if not won:
            raise AlreadyHandled("Someone already acted on this failing card.", holder)
        try:
            result = await self._changing.change(caller, Action.PAUSE, uid, CARD_REASON, duration)
        except BotError:
            await self._claims.release(*claim)  # nothing was written: the card may be used again
            raise
        if not closes_the_card(result):
            await self._claims.release(*claim)
        return result

    async def give_back(self, card_id: str) -> None:
        """The click's result closed nothing after all (its request could not be posted, so it
        was withdrawn): the card's Pause may be used again."""
        await self._claims.release(f"watch:{self._scope}", card_id, "card")


def closes_the_card(result: ChangeResult | Choice) -> bool:
    """Whether a Pause click's result ends the card's use: the claim stands exactly as long
    as the card says what happened (paused, already paused, sent but not confirmed yet, or
    an approver asked); otherwise the next click tries again instead of hearing "someone
    already acted" beside a Pause still shown."""
    if isinstance(result, Change):
        return result.outcome in CARD_CLOSING_OUTCOMES
    return isinstance(result, ApprovalAsked)


CARD_CLOSING_OUTCOMES = frozenset(
    {Outcome.PAUSED, Outcome.ALREADY_PAUSED, Outcome.UNCONFIRMED, Outcome.UNEXPECTED}
)


OFF = datetime(9999, 1, 1, tzinfo=UTC)  # `watch off`: snoozed until the end of time
LONGEST_SNOOZE = timedelta(days=30)  # longer is `watch off`, said as such


class Snoozing:
    """Snooze an endpoint's failing cards, or stop or resume watching it (operators)."""

    def __init__(
        self, access: Access, store: WatchStore, audit: AuditLog, clock: Clock, finder: Finder
    ) -> None:
        self._access = access
        self._store = store
        self._audit = audit
        self._clock = clock
        self._finder = finder

    async def tune(
        self, user_id: str, action: str, text: str, span: timedelta | None
    ) -> tuple[Endpoint, datetime | None]:
        """`watch snooze|off|on` for the endpoint `text` names: it, and until when it is
        silent (None: watched again)."""
        scope = self._access.scope
        async with self._audit.audited(user_id, f"watch {action}", scope) as draft:
            draft.endpoint_name = text
            await self._access.require(user_id, Verb.TUNE_WATCH)
            if span is not None and span > LONGEST_SNOOZE:
                raise InvalidInput("A snooze lasts at most 30d; use `/convoy watch off`.")
            found = await self._finder.resolve(text)
            if not isinstance(found, Endpoint):
                raise InvalidInput(_not_one_endpoint(text, found.endpoints))
            draft.endpoint_uid, draft.endpoint_name = found.uid, found.label
            until: datetime | None = None  # "on"
            if action == "off":
                until = OFF
            elif action == "snooze":
                until = self._clock.now() + (span or timedelta(0))
            if until is None:
                await self._store.unsnooze(scope, found.uid)
            else:
                await self._store.snooze(scope, found.uid, until)
            draft.outcome = f"watch {action}"
        return found, until

    async def snooze(self, user_id: str, uid: str, span: timedelta) -> datetime:
        """Until when the endpoint is snoozed."""
        scope = self._access.scope
        async with self._audit.audited(user_id, "watch snooze", scope) as draft:
            draft.endpoint_uid = uid
            await self._access.require(user_id, Verb.TUNE_WATCH)
            until = self._clock.now() + span
            await self._store.snooze(scope, uid, until)
            draft.outcome = "snoozed"
            draft.detail = f"until {until.isoformat(timespec='seconds')}"
        return until


def _not_one_endpoint(text: str, matches: tuple[Endpoint, ...]) -> str:
    """Why `watch` acts on no endpoint when a name is not one endpoint's whole name."""
    named = ", ".join(f"`{e.label}` (`{e.uid}`)" for e in matches)
    if len(matches) == 1:
        return (
            f"No endpoint is named `{text}`; did you mean {named}? Name it in full or by "
            "its uid. Nothing was changed."
        )
    return f"Several endpoints match `{text}`: {named}. Name one by its uid. Nothing was changed."
