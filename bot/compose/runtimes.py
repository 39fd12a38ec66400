"""Each served project's use cases and reporters, built on first use and again when the
project changes. Part of the composition root: it binds `handlers/` reporters to `bot/` use
cases, per project."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from pydantic import SecretStr

from bot import tenancy
from bot.access.policy import Access
from bot.approvals.asking import Asking
from bot.approvals.deciding import Deciding
from bot.change.locked_change import LockedChange
from bot.clock import SharedClock
from bot.commands.changing import Changing
from bot.commands.discarded import DiscardedRetry
from bot.commands.paused_list import PausedList
from bot.commands.reading import Reading
from bot.commands.resolver import Finder
from bot.commands.routing import ChangeRouter
from bot.commands.suggesting import Suggesting
from bot.compose.infrastructure import Infrastructure, Stores
from bot.convoy import ConvoyClient, build_http_client
from bot.errors import BotError, ProjectUnavailable
from bot.failure_rates import PeriodRate
from bot.keybox import KeyBoxError
from bot.models import Endpoint
from bot.project import Project
from bot.settings import Settings
from bot.timers.auto_resume import AutoResuming
from bot.timers.resume_button import ResumeButton
from bot.timers.settling import Settling
from bot.timers.timed_pauses import TimerControls
from bot.watch.actions import CardPause, Snoozing
from bot.watch.round import WatchRules
from bot.watch.rules import Thresholds
from bot.watch.view import WatchView
from handlers.announcer import Announcer, BoundCopies, ProjectFace
from handlers.outcomes import Reporter
from handlers.pause_messages import PauseMessages
from handlers.runtime import ProjectRuntime
from handlers.settled import SettledReports
from handlers.timers import ThreadPoster, TimerReports
from handlers.watch_cards import WatchCards


def build_use_cases(
    project: Project,
    convoy: ConvoyClient,
    stores: Stores,
    settings: Settings,
    clock: SharedClock,
    *,
    audit_names: tuple[str, ...],
) -> list[object]:
    """One project's use cases, on the shared stores and the project's own Convoy client;
    `audit_names` are what its audit entries name it by."""
    access = Access(stores.roles, stores.rate, project)
    finder = Finder(convoy, stores.choices)
    settle_after = timedelta(seconds=settings.convoy_bot_settle_seconds)
    change = LockedChange(
        convoy, stores.locks, stores.holds, stores.journal, clock, settle_after=settle_after
    )
    asking = Asking(stores.approvals, stores.holds, clock, project.scope)
    router = ChangeRouter(change, asking, finder, stores.choices)
    max_pause = settings.convoy_bot_max_pause
    audit = stores.audit
    deciding = Deciding(access, stores.approvals, change, audit, clock)
    changing = Changing(access, finder, router, stores.choices, audit, max_pause=max_pause)
    return [
        access,
        Reading(access, finder, audit, audit_names),
        changing,
        ResumeButton(access, stores.claims, router, audit),
        deciding,
        TimerControls(access, stores.holds, stores.locks, finder, audit, max_pause=max_pause),
        AutoResuming(stores.holds, change, audit, clock),
        Settling(stores.journal, change, deciding, audit, clock),
        PausedList(access, stores.holds, stores.locks, convoy, audit),
        DiscardedRetry(access, stores.claims, convoy, audit, settle_after=settle_after),
        Suggesting(access, finder),
        CardPause(stores.claims, changing, project.scope),
        Snoozing(access, stores.watch, audit, clock, finder),
        WatchView(access, stores.watch, stores.bindings, clock, watch_rules(settings)),
    ]


@dataclass(frozen=True)
class DueCases:
    """What due work needs of one project (bot.timers.due_work.ProjectTimers)."""

    alias: str
    settling: Settling
    auto_resuming: AutoResuming


def watch_rules(settings: Settings) -> WatchRules:
    thresholds = Thresholds(settings.convoy_bot_alert_failure_rate, settings.watch_recovered_rate)
    return WatchRules(
        settings.convoy_bot_watch_interval, thresholds, settings.convoy_bot_watch_lease
    )


@dataclass(frozen=True)
class _Connection:
    """One project's Convoy client over its own HTTP client, for one API URL and key."""

    key: tuple[str, str, str]  # scope, API URL, key digest
    http: httpx.AsyncClient
    convoy: ConvoyClient


@dataclass(frozen=True)
class _Built:
    fingerprint: tuple[Project, bool]  # the project as named, and whether one of several
    connection: _Connection
    runtime: ProjectRuntime


class ProjectRuntimes:
    """Each served project's use cases and reporters, built on first use, and built again
    when the project changes (its key, its webhook detail, or whether it is one of several).

    One runtime per identity (scope) and API key, whichever alias a command names: aliases of
    one Convoy project share its lock (in Redis, by scope), and with one key also its use
    cases and one Convoy connection pool, so switching between them builds nothing. Messages
    name it by its first alias. A connection replaced (a new key or URL) is closed once its
    last request has ended."""

    def __init__(self, infra: Infrastructure) -> None:
        self._infra = infra
        # By workspace ("" with one), scope and key digest: two workspaces serving one Convoy
        # project each have their own runtime (their own announcer, channels and stores).
        self._built: dict[tuple[str, str, str], _Built] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._building = asyncio.Lock()

    async def for_project(self, project: Project) -> ProjectRuntime:
        return (await self._get(project)).runtime

    async def for_scope(self, scope: str) -> ProjectRuntime | None:
        project = await self._infra.catalog.by_scope(scope)
        return await self.for_project(project) if project is not None else None

    async def legacy(self) -> ProjectRuntime | None:
        project = await self._infra.catalog.legacy()
        return await self.for_project(project) if project is not None else None

    async def due_cases(self, scope: str) -> DueCases | None:
        """A project's timers and settling, for the scheduler's due work."""
        runtime = await self.for_scope(scope)
        if runtime is None:
            return None
        return DueCases(runtime.project.alias, runtime.get(Settling), runtime.get(AutoResuming))

    async def watched(self) -> set[str]:
        return set((await self._infra.stores.bindings.all()).values())

    async def endpoints_of(self, scope: str) -> tuple[list[Endpoint], bool] | None:
        """A served project's endpoints for the watcher, and whether that is all of them."""
        project = await self._infra.catalog.by_scope(scope)
        if project is None:
            return None
        return await (await self._get(project)).connection.convoy.all_endpoints()

    async def period_rates(
        self, scope: str, uids: list[str], start: datetime, end: datetime
    ) -> list[PeriodRate]:
        """Convoy's period failure rates, for the watcher of a project without breaker rates."""
        project = await self._infra.catalog.by_scope(scope)
        if project is None or not uids:
            return []
        return await (await self._get(project)).connection.convoy.period_failure_rates(
            uids, start, end
        )

    async def convoy_status(self) -> dict[str, str]:
        """Per project alias: whether its Convoy answers with its key, for its project."""
        projects = await self._infra.catalog.projects()
        states = await asyncio.gather(*(self._convoy_state(p) for p in projects))
        return {p.alias: state for p, state in zip(projects, states, strict=True)}

    async def _convoy_state(self, project: Project) -> str:
        try:
            seen = await (await self._get(project)).connection.convoy.project_seen_by_key()
        except BotError as exc:
            return exc.message
        if seen != project.project_id:
            return f"its API key belongs to Convoy project {seen}: commands are refused"
        return "ok"

    async def _get(self, project: Project) -> _Built:
        catalog = self._infra.catalog
        named = await catalog.by_scope(project.scope) or project
        several = await catalog.several()
        key = await self._key_of(project)
        fingerprint = (named, several)
        wanted = (named.scope, named.api_url, _digest(key))
        whose = tenancy.current_key()
        async with self._building:
            built = self._built.get((whose, named.scope, wanted[2]))
            if built is None or built.fingerprint != fingerprint or built.connection.key != wanted:
                kept = built.connection if built and built.connection.key == wanted else None
                connection = kept or self._connect(named, key, wanted)
                if built is not None and built.connection is not connection:
                    self._retire(built.connection)
                built = await self._build(named, connection, several)
                self._built[(whose, named.scope, wanted[2])] = built
                await self._retire_keys_gone(whose, named.scope)
        return built

    async def _key_of(self, project: Project) -> SecretStr:
        """The alias's own key: an alias whose key belongs to another project is refused on
        every command (the answer's project is checked), even when another alias of the same
        identity has the right key."""
        try:
            return await self._infra.catalog.key_of(project)
        except KeyBoxError as exc:
            raise ProjectUnavailable(
                f"The API key of project `{project.alias}` cannot be read by this bot (its "
                "CONVOY_BOT_SECRET_KEY does not decrypt it). Nothing was changed; ask the "
                "bot's operators."
            ) from exc

    async def _retire_keys_gone(self, whose: str, scope: str) -> None:
        """Close the connections of an identity made with a key none of its aliases has now
        (a key replaced by `projects add`): aliases with different keys each keep theirs."""
        keys = set()
        for alias in await self._infra.catalog.projects():
            if alias.scope == scope:
                try:
                    keys.add(_digest(await self._infra.catalog.key_of(alias)))
                except KeyBoxError:
                    continue
        gone = [k for k in self._built if k[:2] == (whose, scope) and k[2] not in keys]
        for key in gone:
            self._retire(self._built.pop(key).connection)

    def _connect(
        self, project: Project, key: SecretStr, wanted: tuple[str, str, str]
    ) -> _Connection:
        infra, settings = self._infra, self._infra.settings
        timeout = settings.convoy_timeout_seconds
        http = build_http_client(project.api_url, key.get_secret_value(), timeout)
        calls = infra.metrics.convoy_calls

        def observe(operation: str, status: str, seconds: float) -> None:
            calls.labels(operation, status).observe(seconds)

        return _Connection(wanted, http, ConvoyClient(http, project, timeout, observe))

    def _retire(self, connection: _Connection) -> None:
        """Close a replaced connection once the requests still on it have ended."""

        async def close_when_idle() -> None:
            await connection.convoy.idle()
            await connection.http.aclose()

        task = asyncio.create_task(close_when_idle())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _build(self, project: Project, connection: _Connection, several: bool) -> _Built:
        infra, settings = self._infra, self._infra.settings
        convoy = connection.convoy
        names = await infra.catalog.audit_names(project)
        cases = build_use_cases(
            project, convoy, infra.stores, settings, infra.clock, audit_names=names
        )
        book, calls = infra.stores.book, infra.calls
        copies = BoundCopies(calls, book)
        face = ProjectFace(project, several=several)
        announcer = Announcer(infra.webhooks, infra.metrics, book, copies, face)
        poster = ThreadPoster(calls)
        runtime = ProjectRuntime(project, cases)
        deciding = runtime.get(Deciding)
        for reporting in (
            Reporter(announcer, deciding, infra.clock),
            TimerReports(announcer, poster, book, infra.clock),
            SettledReports(announcer, poster, infra.clock),
            copies,
            PauseMessages(calls, copies),
            WatchCards(calls, infra.stores.watch, book, face),
        ):
            runtime.add(reporting)
        return _Built((project, several), connection, runtime)

    async def aclose(self) -> None:
        for task in list(self._retiring):
            await task
        for built in self._built.values():
            await built.connection.http.aclose()


def _digest(key: SecretStr) -> str:
    """Tells keys apart without keeping one more copy of any."""
    return hashlib.sha256(key.get_secret_value().encode()).hexdigest()
