"""`/convoy paused`: every pause the bot holds, checked against Convoy."""

from __future__ import annotations

from dataclasses import dataclass

from bot.access.policy import Access, Verb
from bot.audit import AuditLog
from bot.change.holds import HoldStore
from bot.change.locks import EndpointLocks
from bot.convoy import ConvoyClient
from bot.errors import EndpointBusy, EndpointNotFound
from bot.models import EndpointStatus, Hold


@dataclass(frozen=True)
class HeldPause:
    """An entry of `/convoy paused`: a hold, and whether Convoy says it is over."""

    hold: Hold
    stale: bool


class PausedList:
    """The bot's holds in this project; one that Convoy says is over is dropped, under the
    endpoint's lock and only if it is still that same hold (a newer pause's hold, and its
    timer, are never removed by a look at an older one)."""

    def __init__(
        self,
        access: Access,
        holds: HoldStore,
        locks: EndpointLocks,
        convoy: ConvoyClient,
        audit: AuditLog,
    ) -> None:
        self._access = access
        self._holds = holds
        self._locks = locks
        self._convoy = convoy
        self._audit = audit

    async def paused(self, user_id: str) -> list[HeldPause]:
        async with self._audit.audited(user_id, Verb.PAUSED.value, self._access.scope):
            await self._access.require(user_id, Verb.PAUSED)
        found = []
        for hold in await self._holds.all():
            if hold.project != self._access.scope:
                continue
            if await self._still_paused(hold):
                found.append(HeldPause(hold, stale=False))
            else:
                found.append(await self._release_if_over(hold))
        return found

    async def settle_outside(self, uid: str) -> Hold | None:
        """The watcher saw the endpoint change outside the bot: end the bot's hold (and its
        timer) if Convoy says its pause is over; the hold ended, if one did."""
        hold = await self._holds.get(self._access.scope, uid)
        if hold is None:
            return None
        held = await self._release_if_over(hold)
        return held.hold if held.stale else None

    async def _still_paused(self, hold: Hold) -> bool:
        try:
            endpoint = await self._convoy.get_endpoint(hold.uid)
        except EndpointNotFound:
            return False
        return endpoint.status is EndpointStatus.PAUSED

    async def _release_if_over(self, hold: Hold) -> HeldPause:
        """Under the lock, read again: release the bot's current hold if Convoy says its
        pause is over (compare-and-delete by its id); show it as it is now either way."""
        try:
            async with self._locks.hold(self._access.scope, hold.uid, hold.name):
                current = await self._holds.get(hold.project, hold.uid)
                if current is None:
                    return HeldPause(hold, stale=True)  # released by someone meanwhile
                if await self._still_paused(current):
                    return HeldPause(current, stale=False)  # paused again meanwhile
                await self._holds.release(current.project, current.uid, current.hold_id)
                return HeldPause(current, stale=True)
        except EndpointBusy:
            return HeldPause(hold, stale=False)  # being changed: that change books it
