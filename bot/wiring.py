"""The composition root's builder: clients and stores, then use cases, then the Slack app.

Everything is built once here and handed to whoever calls it; no module holds a global.
This module and `bot.__main__` are the only places in `bot/` that know the Slack-facing
`handlers/` package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot import redis_keys
from bot.access import Access
from bot.approvals import ApprovalStore
from bot.asking import Asking
from bot.audit import AuditLog
from bot.auto_resume import AutoResuming
from bot.background import BackgroundTasks
from bot.changing import Changing
from bot.choices import ChoiceStore
from bot.claims import ButtonClaims
from bot.clock import SharedClock
from bot.convoy import ConvoyClient, build_http_client
from bot.deciding import Deciding
from bot.discarded import DiscardedRetry
from bot.errors import ConvoyError
from bot.holds import HoldStore
from bot.inflight import InFlightJournal
from bot.locked_change import LockedChange
from bot.locks import EndpointLocks
from bot.message_book import MessageBook
from bot.metrics import Metrics
from bot.paused_list import PausedList
from bot.rate_limits import ChangeRateLimiter
from bot.reading import Reading
from bot.resolver import Finder
from bot.resume_button import ResumeButton
from bot.role_admin import RoleAdmin
from bot.roles import RoleStore
from bot.routing import ChangeRouter
from bot.scheduler import Scheduler
from bot.settings import Settings
from bot.settling import Settling
from bot.store import redis_client
from bot.suggesting import Suggesting
from bot.timed_pauses import TimerControls
from bot.user_groups import SlackGroupDirectory
from bot.vitals import DataLossWatch
from bot.webhooks import WebhookPoster, build_webhook_http_client
from handlers import actions, commands, modals
from handlers.announcer import Announcer
from handlers.app import create_app
from handlers.outcomes import Reporter
from handlers.server import create_server
from handlers.settled import SettledReports
from handlers.timers import ThreadPoster, TimerReports
from handlers.work import Worker

SLACK_TIMEOUT = 10  # seconds for one Slack Web API call


@dataclass
class Infrastructure:
    """The long-lived clients and stores, built once and closed once."""

    settings: Settings
    redis: aioredis.Redis
    slack: AsyncWebClient
    convoy: ConvoyClient
    webhooks: WebhookPoster
    clock: SharedClock
    metrics: Metrics
    watch: DataLossWatch
    tasks: BackgroundTasks
    http_clients: tuple[httpx.AsyncClient, ...]

    async def readiness(self) -> dict[str, str]:
        """Whether Redis and Convoy answer: the body of `/readyz`."""
        checks: dict[str, str] = {}
        try:
            await self.redis.ping()
            checks["redis"] = "ok"
        except RedisError:
            checks["redis"] = "unreachable"
        try:
            await self.convoy.probe()
            checks["convoy"] = "ok"
        except ConvoyError as exc:
            checks["convoy"] = exc.message
        return checks

    async def status(self) -> dict[str, object]:
        """The body of `/status`: what this replica sees, without secrets."""
        checks = await self.readiness()
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zcard(redis_keys.in_flight_due())
                pipe.zcard(redis_keys.resume_timers())
                in_flight, timers = await pipe.execute()
            background: dict[str, object] = {"writes_unsettled": in_flight, "timers": timers}
        except RedisError:
            background = {}
        lost = self.watch.seen
        return {
            **checks,
            "clock": self.clock.now().isoformat(timespec="seconds"),
            "background": background,
            "redis_data_lost": {
                "times": lost.times,
                "last": lost.last.isoformat(timespec="seconds") if lost.last else None,
            },
        }

    async def aclose(self) -> None:
        for client in self.http_clients:
            await client.aclose()
        await self.redis.aclose()


@dataclass(frozen=True)
class UseCases:
    """Each thing a user (or a timer) can ask of the bot, built once."""

    access: Access
    reading: Reading
    changing: Changing
    resume_button: ResumeButton
    deciding: Deciding
    timers: TimerControls
    auto_resuming: AutoResuming
    settling: Settling
    message_book: MessageBook
    paused: PausedList
    discarded: DiscardedRetry
    role_admin: RoleAdmin
    suggesting: Suggesting


def build_infrastructure(settings: Settings, redis_url: str) -> Infrastructure:
    redis = redis_client(redis_url)
    convoy_http = build_http_client(
        str(settings.convoy_api_url),
        settings.convoy_api_key.get_secret_value(),
        settings.convoy_timeout_seconds,
    )
    webhook_http = build_webhook_http_client()
    slack = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=SLACK_TIMEOUT,
        # A 429 means Slack did not post: waiting Retry-After and sending again is safe.
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    clock = SharedClock(redis, movable=settings.convoy_bot_movable_clock)
    metrics = Metrics()
    return Infrastructure(
        settings=settings,
        redis=redis,
        slack=slack,
        convoy=ConvoyClient(
            convoy_http, settings.convoy_project_id, settings.convoy_timeout_seconds
        ),
        webhooks=WebhookPoster(webhook_http, settings.slack_webhook_url_prefixes),
        clock=clock,
        metrics=metrics,
        watch=DataLossWatch(redis, metrics, clock),
        tasks=BackgroundTasks(),
        http_clients=(convoy_http, webhook_http),
    )


def build_use_cases(infra: Infrastructure) -> UseCases:
    settings, redis, clock, convoy = infra.settings, infra.redis, infra.clock, infra.convoy
    project = settings.convoy_project_id
    roles = RoleStore(redis, settings.convoy_bot_admins, SlackGroupDirectory(redis, infra.slack))
    access = Access(
        roles, ChangeRateLimiter(settings.convoy_bot_changes_per_minute, clock), project
    )
    audit = AuditLog(redis, clock)
    choices = ChoiceStore(redis)
    claims = ButtonClaims(redis)
    holds = HoldStore(redis, settings.convoy_bot_reminder_lead, clock)
    locks = EndpointLocks(redis, settings.convoy_bot_lock_ttl_seconds)
    lease = timedelta(seconds=settings.convoy_bot_lock_ttl_seconds)
    approvals = ApprovalStore(redis, settings.convoy_bot_approval_ttl, lease)
    finder = Finder(convoy, choices)
    settle_after = timedelta(seconds=settings.convoy_bot_settle_seconds)
    # Telling a change waits at most for Slack (its client's timeout) after the settle window.
    journal = InFlightJournal(redis, report_within=settle_after + timedelta(seconds=SLACK_TIMEOUT))
    change = LockedChange(
        convoy,
        locks,
        holds,
        journal,
        clock,
        settle_after=settle_after,
    )
    router = ChangeRouter(change, Asking(approvals, holds, clock, project), finder, choices)
    max_pause = settings.convoy_bot_max_pause
    deciding = Deciding(access, approvals, change, audit, clock)
    return UseCases(
        access=access,
        reading=Reading(access, finder, audit),
        changing=Changing(access, finder, router, choices, audit, max_pause=max_pause),
        resume_button=ResumeButton(access, claims, router, audit),
        deciding=deciding,
        timers=TimerControls(access, holds, locks, finder, audit, max_pause=max_pause),
        auto_resuming=AutoResuming(holds, change, audit, clock),
        settling=Settling(journal, change, deciding, audit, clock),
        message_book=MessageBook(holds, journal),
        paused=PausedList(access, holds, locks, convoy, audit),
        discarded=DiscardedRetry(access, claims, convoy, audit, settle_after=settle_after),
        role_admin=RoleAdmin(roles, audit, access),
        suggesting=Suggesting(access, finder),
    )


def _announcer(infra: Infrastructure, cases: UseCases) -> Announcer:
    return Announcer(infra.webhooks, infra.metrics, cases.message_book)


def build_app(infra: Infrastructure, cases: UseCases) -> AsyncApp:
    """The Bolt app with every listener bound to the use cases it calls."""
    app = create_app(infra.slack, infra.settings.signing_secret or None)
    worker = Worker(infra.tasks, infra.metrics)
    reporter = Reporter(_announcer(infra, cases), cases.deciding, infra.clock)
    max_pause = infra.settings.convoy_bot_max_pause
    forms = modals.Forms(worker, cases.suggesting, infra.metrics, max_pause)
    commands.register(
        app,
        worker,
        access=cases.access,
        reading=cases.reading,
        changing=cases.changing,
        paused=cases.paused,
        role_admin=cases.role_admin,
        reporter=reporter,
        clock=infra.clock,
        forms=forms,
    )
    modals.register(
        app,
        worker,
        suggesting=cases.suggesting,
        changing=cases.changing,
        deciding=cases.deciding,
        reporter=reporter,
        forms=forms,
    )
    actions.register(
        app,
        worker,
        deciding=cases.deciding,
        resume_button=cases.resume_button,
        changing=cases.changing,
        timers=cases.timers,
        discarded=cases.discarded,
        reporter=reporter,
        forms=forms,
    )
    return app


def build_server(app: AsyncApp, infra: Infrastructure) -> Starlette:
    return create_server(
        app, infra.settings.signing_secret, infra.readiness, infra.status, infra.metrics
    )


def build_scheduler(infra: Infrastructure, cases: UseCases) -> Scheduler:
    """The timer loop, reporting in Slack through the same announcer as commands and clicks."""
    poster = ThreadPoster(infra.slack, infra.metrics)
    reports = TimerReports(_announcer(infra, cases), poster, cases.message_book, infra.clock)
    settled = SettledReports(_announcer(infra, cases), poster, infra.clock)
    return Scheduler(
        infra.clock,
        infra.watch,
        cases.settling,
        cases.auto_resuming,
        on_settled=settled.on_settled,
        on_resumed=reports.on_resumed,
        on_reminder=reports.on_reminder,
        interval_seconds=infra.settings.convoy_bot_scheduler_interval_seconds,
    )
