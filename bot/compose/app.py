"""The composition root's builder: the Slack app, the HTTP server and the scheduler, over the
infrastructure (`bot.compose.infrastructure`) and each project's runtime (`bot.compose.runtimes`).

Everything is built here and handed to whoever calls it; no module holds a global. This
module, `bot.compose.runtimes` and `bot.__main__` are the only places in `bot/` that know the
Slack-facing `handlers/` package.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from starlette.applications import Starlette

from bot.access.role_admin import RoleAdmin
from bot.compose.infrastructure import Infrastructure
from bot.compose.operator_view import refresh_gauges, status_report
from bot.compose.runtimes import ProjectRuntimes, watch_rules
from bot.home.board import HomeBoard
from bot.home.refresh import HomeRefresh, HomeViewers
from bot.models import Hold
from bot.projects.catalog import ProjectChoice
from bot.projects.channel_admin import ChannelAdmin
from bot.timers.auto_resume import AutoResume
from bot.timers.due_work import DueWork
from bot.timers.scheduler import Scheduler
from bot.timers.settling import Settled
from bot.watch.round import Trouble, WatchRound
from bot.watch.rules import WatchEvent
from bot.workspaces.installations import RedisOAuthStateStore
from handlers import actions, commands, home, home_clicks, modals
from handlers.app import create_app, time_acks
from handlers.forms import Forms
from handlers.installs import StoredAuthorize, oauth_flow
from handlers.server import create_server
from handlers.settled import SettledReports
from handlers.timers import TimerReports
from handlers.watch_reports import tell_watch
from handlers.work import Worker


def build_app(infra: Infrastructure, runtimes: ProjectRuntimes) -> AsyncApp:
    """The Bolt app with every listener bound to what it calls."""
    app = create_app(infra.slack, infra.settings.signing_secret or None, build_installs(infra))
    time_acks(app, infra.metrics)
    worker = Worker(
        infra.tasks,
        infra.metrics,
        infra.responses,
        max_pending=infra.settings.convoy_bot_max_pending,
        many_workspaces=infra.settings.many_workspaces,
    )
    stores, catalog = infra.stores, infra.catalog
    role_admin = RoleAdmin(stores.roles, stores.audit, catalog)
    channels = ChannelAdmin(stores.bindings, catalog, stores.roles, stores.audit, infra.calls)
    choice = ProjectChoice(catalog, infra.redis, stores.roles)
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
    publisher = build_home(infra)
    # Home's Approve and Deny first: Bolt runs the first listener that matches a click.
    home_clicks.register(app, worker, runtimes=runtimes, forms=forms, publisher=publisher)
    actions.register(app, worker, runtimes=runtimes, commands=typed, forms=forms)
    modals.register(app, worker, runtimes=runtimes, forms=forms, home=publisher)
    home.register(app, infra.tasks, publisher)
    return app


def build_installs(infra: Infrastructure) -> tuple[AsyncOAuthFlow, StoredAuthorize] | None:
    """Serving many workspaces: the OAuth flow that installs the bot, and the authorize that
    finds each request's token; None with one workspace's token."""
    settings = infra.settings
    if infra.installations is None or infra.tokens is None:
        return None
    client_id, secret = settings.slack_client_id, settings.slack_client_secret
    if client_id is None or secret is None:
        return None
    stores = infra.stores

    def roles() -> RoleAdmin:
        return RoleAdmin(stores.roles, stores.audit, infra.catalog, trusted=True)

    flow = oauth_flow(
        client_id=client_id,
        client_secret=secret.get_secret_value(),
        authorize_url=str(settings.slack_oauth_authorize_url),
        redirect_url=str(settings.slack_oauth_redirect_url or "") or None,
        installations=infra.installations,
        states=RedisOAuthStateStore(infra.redis),
        client=infra.slack,
        roles=roles,
    )
    return flow, StoredAuthorize(infra.tokens)


def build_home(infra: Infrastructure) -> home.HomePublisher:
    """The App Home board over the shared stores, published through the bot's client."""
    stores = infra.stores
    boards = HomeBoard(
        infra.catalog,
        stores.roles,
        approvals=stores.approvals,
        holds=stores.holds,
        watch=stores.watch,
        clock=infra.clock,
    )
    window = timedelta(seconds=infra.settings.convoy_bot_home_refresh_seconds)
    refresh = HomeRefresh(HomeViewers(infra.redis, window), boards, infra.clock)
    return home.HomePublisher(boards, refresh, infra.calls)


def build_server(app: AsyncApp, infra: Infrastructure, runtimes: ProjectRuntimes) -> Starlette:
    async def status() -> dict[str, object]:
        return await status_report(infra, runtimes)

    async def metrics_page() -> bytes:
        await refresh_gauges(infra)
        return infra.metrics.render()

    settings = infra.settings
    return create_server(
        app,
        settings.signing_secret,
        infra.readiness,
        status,
        metrics_page,
        turn_away=commands.busy_refusal(
            infra.tasks, infra.metrics, settings.convoy_bot_max_pending
        ),
    )


def build_scheduler(infra: Infrastructure, runtimes: ProjectRuntimes) -> Scheduler:
    """The timer loop: each due item runs in its project, and is reported in Slack through
    that project's announcer, as commands and clicks are."""
    stores = infra.stores
    due = DueWork(stores.holds, stores.journal, infra.clock, runtimes.due_cases)

    async def on_settled(settled: Settled) -> None:
        runtime = await runtimes.for_scope(settled.record.project)
        if runtime is not None:
            await runtime.get(SettledReports).on_settled(settled)

    async def on_resumed(result: AutoResume) -> None:
        if result.hold is not None:
            runtime = await runtimes.for_scope(result.hold.project)
            if runtime is not None:
                await runtime.get(TimerReports).on_resumed(result)

    async def on_reminder(hold: Hold) -> None:
        runtime = await runtimes.for_scope(hold.project)
        if runtime is not None:
            await runtime.get(TimerReports).on_reminder(hold)

    return Scheduler(
        infra.clock,
        infra.watch,
        due,
        on_settled=on_settled,
        on_resumed=on_resumed,
        on_reminder=on_reminder,
        interval_seconds=infra.settings.convoy_bot_scheduler_interval_seconds,
        watch_round=build_watch_round(infra, runtimes),
        home_round=build_home(infra).refresh,
        users_waiting=lambda: infra.tasks.full,
        deferred=lambda kind: infra.metrics.background_deferred.labels(kind).inc(),
    )


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
            await runtime.run(tell_watch, events, trouble, infra.clock.now())

    return partial(watching.run_due, report)
