"""`/convoy paused`: every pause the bot holds, checked against Convoy."""

from __future__ import annotations

from bot.access import Access, Verb
from bot.audit import AuditLog
from bot.convoy import ConvoyClient
from bot.errors import EndpointNotFound
from bot.holds import HoldStore
from bot.models import EndpointStatus
from bot.results import HeldPause


class PausedList:
    """The bot's holds in this project; one that Convoy says is over is dropped."""

    def __init__(
        self, access: Access, holds: HoldStore, convoy: ConvoyClient, audit: AuditLog
    ) -> None:
        self._access = access
        self._holds = holds
        self._convoy = convoy
        self._audit = audit

    async def paused(self, user_id: str) -> list[HeldPause]:
        async with self._audit.audited(user_id, Verb.PAUSED.value, self._access.project):
            await self._access.require(user_id, Verb.PAUSED)
        found = []
        for hold in await self._holds.all():
            if hold.project != self._access.project:
                continue
            try:
                endpoint = await self._convoy.get_endpoint(hold.uid)
                stale = endpoint.status is not EndpointStatus.PAUSED
            except EndpointNotFound:
                stale = True
            if stale:
                await self._holds.release(hold.project, hold.uid, hold.hold_id)
            found.append(HeldPause(hold, stale))
        return found
