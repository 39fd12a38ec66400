"""Retrying the event deliveries Convoy discarded while an endpoint was paused.

A batch retry re-sends events to the customer, so sending it twice duplicates them. The
button is claimed once; a retry whose answer was lost keeps its claim (nothing is sent
again) until the discarded deliveries are counted again after the settle window.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.access.policy import Access, Verb
from bot.approvals.claims import ButtonClaims
from bot.audit import AuditLog
from bot.change.booking import DISCARDED
from bot.convoy import ConvoyClient
from bot.errors import (
    AlreadyHandled,
    ConvoyBadResponse,
    ConvoyError,
    ConvoyUnavailable,
    InvalidInput,
)

MAX_RETRY_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class RetryWindow:
    """Which deliveries: the endpoint, the window it was paused for, and the button's message."""

    uid: str
    start: datetime
    end: datetime
    message_ts: str

    @property
    def claim(self) -> str:
        return f"{self.uid}:{self.start.timestamp()}"


@dataclass(frozen=True)
class Retried:
    """What a retry did: how many deliveries were asked for, and whether Convoy confirmed it."""

    count: int
    confirmed: bool
    problem: str = ""  # why it is not confirmed


@dataclass(frozen=True)
class RetrySettled:
    """A retry in doubt, counted again: how many are still discarded, and whether it took."""

    remaining: int
    took: bool


class DiscardedRetry:
    """The Retry discarded events button: operator+, once per window."""

    def __init__(
        self,
        access: Access,
        claims: ButtonClaims,
        convoy: ConvoyClient,
        audit: AuditLog,
        *,
        settle_after: timedelta,
    ) -> None:
        self._access = access
        self._claims = claims
        self._convoy = convoy
        self._audit = audit
        self.settle_after = settle_after

    async def retry(self, user_id: str, window: RetryWindow, change_id: str) -> Retried:
        """Ask Convoy to retry what it discarded in the window, once."""
        command = Verb.RETRY_DISCARDED.value
        async with self._audit.audited(user_id, command, self._access.scope) as draft:
            draft.endpoint_uid = window.uid
            await self._access.require(user_id, Verb.RETRY_DISCARDED)
            if not window.start < window.end or window.end - window.start > MAX_RETRY_WINDOW:
                raise InvalidInput("That button is damaged; nothing was retried.")
            won, holder = await self._claims.take("retry", window.message_ts, window.claim, user_id)
            if not won:
                raise AlreadyHandled("Those events were already sent for retry.", holder)
            try:
                count = await self._count(window)
            except ConvoyError:
                await self._claims.release("retry", window.message_ts, window.claim)
                raise  # nothing was sent: the button may be used again
            try:
                await self._convoy.retry_deliveries(
                    window.uid, DISCARDED, window.start, window.end, change_id
                )
            except (ConvoyUnavailable, ConvoyBadResponse) as exc:
                # Convoy may have taken it: the claim stays, so nothing is sent twice.
                draft.outcome, draft.convoy_status = "retry not confirmed", exc.status
                return Retried(count, confirmed=False, problem=exc.message)
            except ConvoyError:
                await self._claims.release("retry", window.message_ts, window.claim)
                raise  # a clear refusal: Convoy retried nothing
            draft.outcome = f"retry requested for {count} discarded deliveries"
            draft.convoy_status = "200"
        return Retried(count, confirmed=True)

    async def settle(self, user_id: str, window: RetryWindow, asked: Retried) -> RetrySettled:
        """After the settle window, count again: fewer discarded means Convoy took it; as
        many means it did not, and the button may be used again."""
        await asyncio.sleep(self.settle_after.total_seconds())
        async with self._audit.audited(
            user_id, "retry discarded (settled)", self._access.scope
        ) as draft:
            draft.endpoint_uid = window.uid
            remaining = await self._count(window)
            took = remaining < asked.count
            if not took:
                await self._claims.release("retry", window.message_ts, window.claim)
            draft.outcome = "retry took effect" if took else "retry did not take effect"
        return RetrySettled(remaining, took)

    async def _count(self, window: RetryWindow) -> int:
        count, _ = await self._convoy.count_deliveries(
            window.uid, DISCARDED, window.start, window.end
        )
        return count
