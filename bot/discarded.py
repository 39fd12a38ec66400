"""Retrying the event deliveries Convoy discarded while an endpoint was paused."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.access import Access, Verb
from bot.audit import AuditLog
from bot.claims import ButtonClaims
from bot.convoy import ConvoyClient
from bot.errors import AlreadyHandled, ConvoyError, InvalidInput
from bot.locked_change import DISCARDED

MAX_RETRY_WINDOW = timedelta(days=7)


class DiscardedRetry:
    """The Retry discarded events button: operator+, once per window."""

    def __init__(
        self, access: Access, claims: ButtonClaims, convoy: ConvoyClient, audit: AuditLog
    ) -> None:
        self._access = access
        self._claims = claims
        self._convoy = convoy
        self._audit = audit

    async def retry(
        self, user_id: str, uid: str, start: datetime, end: datetime, message_ts: str
    ) -> int:
        """Ask Convoy to retry what it discarded in [start, end]; how many deliveries."""
        command = Verb.RETRY_DISCARDED.value
        async with self._audit.audited(user_id, command, self._access.project) as draft:
            draft.endpoint_uid = uid
            await self._access.require(user_id, Verb.RETRY_DISCARDED)
            if not start < end or end - start > MAX_RETRY_WINDOW:
                raise InvalidInput("That button is damaged; nothing was retried.")
            claim = f"{uid}:{start.timestamp()}"
            won, holder = await self._claims.take("retry", message_ts, claim, user_id)
            if not won:
                raise AlreadyHandled("Those events were already sent for retry.", holder)
            try:
                count, _ = await self._convoy.count_deliveries(uid, DISCARDED, start, end)
                await self._convoy.retry_deliveries(uid, DISCARDED, start, end)
            except ConvoyError:
                # Convoy did not take it: let the button be used again. (A retry Convoy took
                # but did not confirm could then run twice; Convoy re-sends, it never toggles.)
                await self._claims.release("retry", message_ts, claim)
                raise
            draft.outcome = f"retry requested for {count} discarded deliveries"
            draft.convoy_status = "200"
        return count
