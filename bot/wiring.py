"""The composition root's builder: clients and stores, then each project's use cases, then
the Slack app and the scheduler.

Everything is built here and handed to whoever calls it; no module holds a global. This
module and `bot.__main__` are the only places in `bot/` that know the Slack-facing
`handlers/` package.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot.access import Access
from bot.approvals import ApprovalStore
from bot.asking import Asking
from bot.audit import AuditLog
from bot.auto_resume import AutoResuming
from bot.background import BackgroundTasks
from bot.bindings import ChannelBindings
from bot.cases import UseCases
from bot.catalog import ProjectCatalog, ProjectChoice
from bot.changing import Changing
from bot.channel_admin import ChannelAdmin
from bot.choices import ChoiceStore
from bot.claims import ButtonClaims
from bot.clock import SharedClock, wall_clock
from bot.convoy import ConvoyClient, build_http_client
from bot.deciding import Deciding
from bot.discarded import DiscardedRetry
from bot.due_work import DueWork
from bot.errors import BotError, ProjectUnavailable
from bot.failure_rates import PeriodRate
from bot.holds import HoldStore
from bot.inflight import InFlightJournal
from bot.locked_change import LockedChange
from bot.locks import EndpointLocks
from bot.message_book import MessageBook
from bot.metrics import Metrics
from bot.models import Endpoint, Hold
from bot.operator_view import refresh_gauges, status_report
from bot.paused_list import PausedList
from bot.projects import KeyBox, KeyBoxError, KeyedProject, Project, ProjectStore
from bot.rate_limits import ChangeRateLimiter
from bot.reading import Reading
from bot.resolver import Finder
from bot.results import AutoResume
from bot.resume_button import ResumeButton
from bot.role_admin import RoleAdmin
from bot.roles import RoleStore
from bot.routing import ChangeRouter
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.settling import Settled, Settling
from bot.slack_client import TimedWebClient
from bot.slack_identity import SlackIdentity
from bot.store import redis_client
from bot.suggesting import Suggesting
from bot.timed_pauses import TimerControls
from bot.user_groups import SlackGroupDirectory
from bot.vitals import DataLossWatch
from bot.watch_actions import CardPause, Snoozing
from bot.watch_rules import Thresholds, WatchEvent
from bot.watch_store import WatchStore
from bot.watch_view import WatchView
from bot.watching import Trouble, WatchRound, WatchRules
from bot.webhooks import WebhookPoster, build_webhook_http_client
from handlers import actions, commands, modals
from handlers.announcer import Announcer, BoundCopies, ProjectFace
from handlers.app import create_app, time_acks
from handlers.forms import Forms
from handlers.outcomes import Reporter
from handlers.runtime import ProjectRuntime
from handlers.server import create_server
from handlers.settled import SettledReports
from handlers.timers import ThreadPoster, TimerReports
from handlers.watch_cards import WatchCards
from handlers.watch_reports import tell_watch
from handlers.work import Worker

SLACK_TIMEOUT = 10  # seconds for one Slack Web API call
# auth.test at start-up and for /status: a Slack that does not answer by then is "unreachable".
SLACK_CHECK_TIMEOUT = 5


@dataclass(frozen=True)
class Stores:
    """The Redis-backed stores every project shares; each keys its entries by project."""

    roles: RoleStore
    audit: AuditLog
    choices: ChoiceStore
    claims: ButtonClaims
    holds: HoldStore
    locks: EndpointLocks
    approvals: ApprovalStore
    journal: InFlightJournal
    bindings: ChannelBindings
    book: MessageBook
    rate: ChangeRateLimiter
    watch: WatchStore


@dataclass
class Infrastructure:
    """The long-lived clients and stores, built once and closed once."""

    settings: Settings
    redis: aioredis.Redis
    slack: AsyncWebClient
    webhooks: WebhookPoster
    clock: SharedClock
    metrics: Metrics
    watch: DataLossWatch
    tasks: BackgroundTasks
    stores: Stores
    catalog: ProjectCatalog
    webhook_http: httpx.AsyncClient
    slack_identity: SlackIdentity

    async def readiness(self) -> dict[str, str]:
        """The body of `/readyz`: whether this replica can serve, which is whether its Redis
        answers. A Convoy outage (or one project's revoked key) does not take it out of
        service: users then get the bot's own clear message."""
        try:
            await self.redis.ping()
        except RedisError:
            return {"redis": "unreachable"}
        return {"redis": "ok"}

    async def aclose(self) -> None:
        await self.webhook_http.aclose()
        await self.redis.aclose()


def build_infrastructure(
    settings: Settings,
    redis_url: str,
    from_env: KeyedProject | None,
    box: KeyBox | None,
    wall: Callable[[], datetime] | None = None,
) -> Infrastructure:
    """`from_env` is the project the CONVOY_* variables name; `box` decrypts stored keys;
    `wall` is this machine's clock (a test's may run ahead)."""
    redis = redis_client(redis_url)
    webhook_http = build_webhook_http_client()
    metrics = Metrics()

    def observe_slack(method: str, result: str, seconds: float) -> None:
        metrics.slack_calls.labels(method, result).observe(seconds)

    slack = TimedWebClient(
        observe_slack,
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=SLACK_TIMEOUT,
        # A 429 means Slack did not post: waiting Retry-After and sending again is safe.
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    clock = SharedClock(redis, movable=settings.convoy_bot_movable_clock, wall=wall or wall_clock)
    stores = build_stores(settings, redis, slack, clock)
    return Infrastructure(
        settings=settings,
        redis=redis,
        slack=slack,
        webhooks=WebhookPoster(webhook_http, settings.slack_webhook_url_prefixes),
        clock=clock,
        metrics=metrics,
        watch=DataLossWatch(redis, metrics, clock),
        tasks=BackgroundTasks(),
        stores=stores,
        catalog=ProjectCatalog(ProjectStore(redis, box), from_env, stores.bindings),
        webhook_http=webhook_http,
        slack_identity=SlackIdentity(slack, clock, timeout_seconds=SLACK_CHECK_TIMEOUT),
    )


def build_stores(
    settings: Settings, redis: aioredis.Redis, slack: AsyncWebClient, clock: SharedClock
) -> Stores:
    holds = HoldStore(redis, settings.convoy_bot_reminder_lead, clock)
    lease = timedelta(seconds=settings.convoy_bot_lock_ttl_seconds)
    settle_after = timedelta(seconds=settings.convoy_bot_settle_seconds)
    # Telling a change waits at most for Slack (its client's timeout) after the settle window.
    journal = InFlightJournal(redis, report_within=settle_after + timedelta(seconds=SLACK_TIMEOUT))
    bindings = ChannelBindings(redis)
    return Stores(
        roles=RoleStore(redis, settings.convoy_bot_admins, SlackGroupDirectory(redis, slack)),
        audit=AuditLog(redis, clock),
        choices=ChoiceStore(redis),
        claims=ButtonClaims(redis),
        holds=holds,
        locks=EndpointLocks(redis, settings.convoy_bot_lock_ttl_seconds),
        approvals=ApprovalStore(redis, settings.convoy_bot_approval_ttl, lease),
        journal=journal,
        bindings=bindings,
        book=MessageBook(holds, journal, bindings, redis),
        rate=ChangeRateLimiter(settings.convoy_bot_changes_per_minute, clock),
        watch=WatchStore(redis),
    )


def build_use_cases(
    project: Project,
    convoy: ConvoyClient,
    stores: Stores,
    settings: Settings,
    clock: SharedClock,
    *,
    audit_names: tuple[str, ...],
) -> UseCases:
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
    return UseCases(
        project=project,
        access=access,
        reading=Reading(access, finder, audit, audit_names),
        changing=changing,
        resume_button=ResumeButton(access, stores.claims, router, audit),
        deciding=deciding,
        timers=TimerControls(
            access, stores.holds, stores.locks, finder, audit, max_pause=max_pause
        ),
        auto_resuming=AutoResuming(stores.holds, change, audit, clock),
        settling=Settling(stores.journal, change, deciding, audit, clock),
        paused=PausedList(access, stores.holds, stores.locks, convoy, audit),
        discarded=DiscardedRetry(access, stores.claims, convoy, audit, settle_after=settle_after),
        suggesting=Suggesting(access, finder),
        card_pause=CardPause(stores.claims, changing, project.scope),
        snoozing=Snoozing(access, stores.watch, audit, clock, finder),
        watch_view=WatchView(access, stores.watch, stores.bindings, clock, watch_rules(settings)),
    )


@dataclass(frozen=True)
class _Built:
    fingerprint: tuple[Project, str, bool]
    runtime: ProjectRuntime
    convoy: ConvoyClient


class ProjectRuntimes:
    """Each served project's use cases and reporters, built on first use, and built again
    when the project changes (its key, its webhook detail, or whether it is one of several)."""

    def __init__(self, infra: Infrastructure) -> None:
        self._infra = infra
        self._built: dict[str, _Built] = {}
        self._clients: list[httpx.AsyncClient] = []  # closed at the end: a request may be on one
        self._building = asyncio.Lock()

    async def for_project(self, project: Project) -> ProjectRuntime:
        return (await self._get(project)).runtime

    async def for_scope(self, scope: str) -> ProjectRuntime | None:
        project = await self._infra.catalog.by_scope(scope)
        return await self.for_project(project) if project is not None else None

    async def legacy(self) -> ProjectRuntime | None:
        project = await self._infra.catalog.legacy()
        return await self.for_project(project) if project is not None else None

    async def cases_for(self, scope: str) -> UseCases | None:
        runtime = await self.for_scope(scope)
        return runtime.cases if runtime is not None else None

    async def watched(self) -> set[str]:
        return set((await self._infra.stores.bindings.all()).values())

    async def endpoints_of(self, scope: str) -> tuple[list[Endpoint], bool] | None:
        """A served project's endpoints for the watcher, and whether that is all of them."""
        project = await self._infra.catalog.by_scope(scope)
        if project is None:
            return None
        return await (await self._get(project)).convoy.all_endpoints()

    async def period_rates(
        self, scope: str, uids: list[str], start: datetime, end: datetime
    ) -> list[PeriodRate]:
        """Convoy's period failure rates, for the watcher of a project without breaker rates."""
        project = await self._infra.catalog.by_scope(scope)
        if project is None or not uids:
            return []
        return await (await self._get(project)).convoy.period_failure_rates(uids, start, end)

    async def convoy_status(self) -> dict[str, str]:
        """Per project alias: whether its Convoy answers with its key, for its project."""
        projects = await self._infra.catalog.projects()
        states = await asyncio.gather(*(self._convoy_state(p) for p in projects))
        return {p.alias: state for p, state in zip(projects, states, strict=True)}

    async def _convoy_state(self, project: Project) -> str:
        try:
            seen = await (await self._get(project)).convoy.project_seen_by_key()
        except BotError as exc:
            return exc.message
        if seen != project.project_id:
            return f"its API key belongs to Convoy project {seen}: commands are refused"
        return "ok"

    async def _get(self, project: Project) -> _Built:
        catalog = self._infra.catalog
        several = await catalog.several()
        try:
            key = await catalog.key_of(project)
        except KeyBoxError as exc:
            raise ProjectUnavailable(
                f"The API key of project `{project.alias}` cannot be read by this bot (its "
                "CONVOY_BOT_SECRET_KEY does not decrypt it). Nothing was changed; ask the "
                "bot's operators."
            ) from exc
        fingerprint = (project, _digest(key), several)
        async with self._building:
            built = self._built.get(project.scope)
            if built is None or built.fingerprint != fingerprint:
                built = await self._build(project, key, fingerprint)
                self._built[project.scope] = built
        return built

    async def _build(
        self, project: Project, key: SecretStr, fingerprint: tuple[Project, str, bool]
    ) -> _Built:
        infra, settings = self._infra, self._infra.settings
        timeout = settings.convoy_timeout_seconds
        http = build_http_client(project.api_url, key.get_secret_value(), timeout)
        self._clients.append(http)
        calls = infra.metrics.convoy_calls

        def observe(operation: str, status: str, seconds: float) -> None:
            calls.labels(operation, status).observe(seconds)

        convoy = ConvoyClient(http, project, timeout, observe)
        names = await infra.catalog.audit_names(project)
        cases = build_use_cases(
            project, convoy, infra.stores, settings, infra.clock, audit_names=names
        )
        book = infra.stores.book
        copies = BoundCopies(infra.slack, book, infra.metrics)
        face = ProjectFace(project, several=fingerprint[2])
        announcer = Announcer(infra.webhooks, infra.metrics, book, copies, face)
        poster = ThreadPoster(infra.slack, infra.metrics)
        runtime = ProjectRuntime(
            cases=cases,
            reporter=Reporter(announcer, cases.deciding, infra.clock),
            timer_reports=TimerReports(announcer, poster, book, infra.clock),
            settled_reports=SettledReports(announcer, poster, infra.clock),
            copies=copies,
            watch_cards=WatchCards(infra.slack, infra.stores.watch, book, face, infra.metrics),
        )
        return _Built(fingerprint, runtime, convoy)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def _digest(key: SecretStr) -> str:
    """Tells keys apart without keeping one more copy of any."""
    return hashlib.sha256(key.get_secret_value().encode()).hexdigest()


def build_app(infra: Infrastructure, runtimes: ProjectRuntimes) -> AsyncApp:
    """The Bolt app with every listener bound to what it calls."""
    app = create_app(infra.slack, infra.settings.signing_secret or None)
    time_acks(app, infra.metrics)
    worker = Worker(infra.tasks, infra.metrics)
    stores, catalog = infra.stores, infra.catalog
    role_admin = RoleAdmin(stores.roles, stores.audit, catalog)
    channels = ChannelAdmin(stores.bindings, catalog, stores.roles, stores.audit, infra.slack)
    choice = ProjectChoice(catalog, infra.redis)
    max_pause = infra.settings.convoy_bot_max_pause
    forms = Forms(worker, runtimes, infra.metrics, max_pause, choice)
    typed = commands.register(
        app,
        worker,
        runtimes=runtimes,
        choice=choice,
        channels=channels,
        role_admin=role_admin,
        clock=infra.clock,
        forms=forms,
    )
    actions.register(app, worker, runtimes=runtimes, commands=typed, forms=forms)
    modals.register(app, worker, runtimes=runtimes, forms=forms)
    return app


def build_server(app: AsyncApp, infra: Infrastructure, runtimes: ProjectRuntimes) -> Starlette:
    async def status() -> dict[str, object]:
        return await status_report(infra, runtimes)

    async def metrics_page() -> bytes:
        await refresh_gauges(infra)
        return infra.metrics.render()

    return create_server(app, infra.settings.signing_secret, infra.readiness, status, metrics_page)


def build_scheduler(infra: Infrastructure, runtimes: ProjectRuntimes) -> Scheduler:
    """The timer loop: each due item runs in its project, and is reported in Slack through
    that project's announcer, as commands and clicks are."""
    stores = infra.stores
    due = DueWork(stores.holds, stores.journal, infra.clock, runtimes.cases_for)

    async def on_settled(settled: Settled) -> None:
        runtime = await runtimes.for_scope(settled.record.project)
        if runtime is not None:
            await runtime.settled_reports.on_settled(settled)

    async def on_resumed(result: AutoResume) -> None:
        if result.hold is not None:
            runtime = await runtimes.for_scope(result.hold.project)
            if runtime is not None:
                await runtime.timer_reports.on_resumed(result)

    async def on_reminder(hold: Hold) -> None:
        runtime = await runtimes.for_scope(hold.project)
        if runtime is not None:
            await runtime.timer_reports.on_reminder(hold)

    return Scheduler(
        infra.clock,
        infra.watch,
        due,
        on_settled=on_settled,
        on_resumed=on_resumed,
        on_reminder=on_reminder,
        interval_seconds=infra.settings.convoy_bot_scheduler_interval_seconds,
        watch_round=build_watch_round(infra, runtimes),
    )


def watch_rules(settings: Settings) -> WatchRules:
    thresholds = Thresholds(settings.convoy_bot_alert_failure_rate, settings.watch_recovered_rate)
    return WatchRules(settings.convoy_bot_watch_interval, thresholds)


def build_watch_round(
    infra: Infrastructure, runtimes: ProjectRuntimes
) -> Callable[[], Awaitable[int]] | None:
    """The watcher's round, its cards posted by each project's runtime; None when this
    replica is set not to poll."""
    settings = infra.settings
    if not settings.convoy_bot_watch_enabled:
        return None
    rules = watch_rules(settings)
    watching = WatchRound(infra.stores.watch, runtimes, infra.clock, rules, infra.metrics)

    async def report(scope: str, events: list[WatchEvent], trouble: Trouble | None) -> None:
        runtime = await runtimes.for_scope(scope)
        if runtime is not None:
            await tell_watch(runtime, events, trouble, infra.clock.now())

    return partial(watching.run_due, report)
