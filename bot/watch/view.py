"""`/convoy watch`: what the watcher does in this project, as a viewer may see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.access.policy import Access, Verb
from bot.clock import Clock
from bot.projects.bindings import ChannelBindings
from bot.watch.round import WatchRules
from bot.watch.store import Health, Seen, WatchStore


@dataclass(frozen=True)
class WatchOverview:
    """The project's watch: its channels, rules, last poll, failing and snoozed endpoints."""

    channels: list[str]  # bound channels: the watch runs only while there is one
    rules: WatchRules
    health: Health | None
    failing: dict[str, Seen]  # uid -> what was seen
    snoozed: dict[str, datetime]  # uid -> until

    @property
    def last_poll(self) -> datetime | None:
        return datetime.fromtimestamp(self.health.at, UTC) if self.health else None


class WatchView:
    def __init__(
        self,
        access: Access,
        store: WatchStore,
        bindings: ChannelBindings,
        clock: Clock,
        rules: WatchRules,
    ) -> None:
        self._access = access
        self._store = store
        self._bindings = bindings
        self._clock = clock
        self._rules = rules

    async def overview(self, user_id: str) -> WatchOverview:
        await self._access.require(user_id, Verb.WATCH)
        scope = self._access.scope
        seen = await self._store.seen(scope)
        return WatchOverview(
            channels=await self._bindings.channels_of(scope),
            rules=self._rules,
            health=(await self._store.health()).get(scope),
            failing={uid: s for uid, s in seen.items() if s.failing},
            snoozed=await self._store.snoozed(scope, self._clock.now()),
        )
