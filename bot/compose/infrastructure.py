"""The long-lived clients and the Redis-backed stores: built once per process, shared by
every project, closed once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
import httpx
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot import tenancy
from bot.access.rate_limits import ChangeRateLimiter
from bot.access.roles import RoleStore
from bot.access.user_groups import SlackGroupDirectory
from bot.approvals.claims import ButtonClaims
from bot.approvals.store import ApprovalStore
from bot.audit import AuditLog
from bot.background import BackgroundTasks
from bot.change.holds import HoldStore
from bot.change.inflight import InFlightJournal
from bot.change.locks import EndpointLocks
from bot.change.message_book import MessageBook
from bot.clock import SharedClock, wall_clock
from bot.commands.choices import ChoiceStore
from bot.keybox import KeyBox
from bot.metrics import Metrics
from bot.project import KeyedProject
from bot.projects.bindings import ChannelBindings
from bot.projects.catalog import ProjectCatalog
from bot.projects.store import ProjectStore
from bot.settings import Settings
from bot.slack_client import (
    ResponseUrls,
    SlackCalls,
    TimedWebClient,
    TokenSource,
    slack_session,
)
from bot.slack_identity import SlackIdentity
from bot.slack_rate import SlackRateLimits
from bot.store import STORE_ERRORS, Store, redis_client
from bot.vitals import DataLossWatch
from bot.watch.store import WatchStore
from bot.webhooks import WebhookPoster, build_webhook_http_client
from bot.workspaces.installations import RedisInstallationStore
from bot.workspaces.tokens import WorkspaceTokens

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
    redis: Store
    slack: AsyncWebClient
    calls: SlackCalls  # the bot's own Web API calls (not a listener's reply), counted
    responses: ResponseUrls  # replies through response URLs, on the same kept connections
    slack_http: aiohttp.ClientSession
    webhooks: WebhookPoster
    clock: SharedClock
    metrics: Metrics
    watch: DataLossWatch
    tasks: BackgroundTasks
    stores: Stores
    catalog: ProjectCatalog
    webhook_http: httpx.AsyncClient
    slack_identity: SlackIdentity
    # Installed in many workspaces (SLACK_CLIENT_ID set): their installations and tokens.
    installations: RedisInstallationStore | None = None
    tokens: WorkspaceTokens | None = None

    async def readiness(self) -> dict[str, str]:
        """The body of `/readyz`: whether this replica can serve, which is whether its Redis
        answers. A Convoy outage (or one project's revoked key) does not take it out of
        service: users then get the bot's own clear message."""
        try:
            await self.redis.ping()
        except STORE_ERRORS:
            return {"redis": "unreachable"}
        return {"redis": "ok"}

    async def aclose(self) -> None:
        await self.slack_http.close()
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

    slack_http = slack_session()
    installations, tokens = None, None
    if settings.many_workspaces:
        installations, tokens = _workspace_tokens(settings, redis, box, metrics, slack_http)
    one_token = settings.slack_bot_token
    slack = TimedWebClient(
        observe_slack,
        token_source=_token_of_current_workspace(tokens) if tokens is not None else None,
        pace=SlackRateLimits(redis, metrics).wait_turn
        if settings.convoy_bot_slack_rate_limits
        else None,
        token=one_token.get_secret_value() if one_token is not None else None,
        base_url=str(settings.slack_api_url),
        timeout=SLACK_TIMEOUT,
        session=slack_http,
        # A 429 means Slack did not post: waiting Retry-After and sending again is safe.
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    clock = SharedClock(redis, movable=settings.convoy_bot_movable_clock, wall=wall or wall_clock)
    calls = SlackCalls(slack, metrics)
    stores = build_stores(settings, redis, calls, clock)
    return Infrastructure(
        settings=settings,
        redis=redis,
        slack=slack,
        calls=calls,
        responses=ResponseUrls(slack_http, SLACK_TIMEOUT),
        slack_http=slack_http,
        webhooks=WebhookPoster(webhook_http, settings.slack_webhook_url_prefixes),
        clock=clock,
        metrics=metrics,
        watch=DataLossWatch(redis, metrics, clock),
        tasks=BackgroundTasks(),
        stores=stores,
        catalog=ProjectCatalog(ProjectStore(redis, box), from_env, stores.bindings),
        webhook_http=webhook_http,
        slack_identity=SlackIdentity(slack, clock, timeout_seconds=SLACK_CHECK_TIMEOUT),
        installations=installations,
        tokens=tokens,
    )


def _workspace_tokens(
    settings: Settings,
    redis: Store,
    box: KeyBox | None,
    metrics: Metrics,
    session: aiohttp.ClientSession,
) -> tuple[RedisInstallationStore, WorkspaceTokens]:
    """The installations of a bot serving many workspaces, and their tokens (refreshed with
    the app's client id and secret)."""
    if box is None or settings.slack_client_id is None or settings.slack_client_secret is None:
        raise ValueError("many workspaces need SLACK_CLIENT_ID/SECRET and CONVOY_BOT_SECRET_KEY")
    installations = RedisInstallationStore(redis, box)
    oauth_client = AsyncWebClient(
        base_url=str(settings.slack_api_url), timeout=SLACK_TIMEOUT, session=session
    )
    rotator = AsyncTokenRotator(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        client=oauth_client,
    )
    return installations, WorkspaceTokens(installations, redis, rotator, metrics)


def _token_of_current_workspace(tokens: WorkspaceTokens) -> TokenSource:
    async def token() -> str | None:
        workspace = tenancy.current()
        return await tokens.token(workspace) if workspace is not None else None

    return token


def build_stores(settings: Settings, redis: Store, calls: SlackCalls, clock: SharedClock) -> Stores:
    holds = HoldStore(redis, settings.convoy_bot_reminder_lead, clock)
    lease = timedelta(seconds=settings.convoy_bot_lock_ttl_seconds)
    settle_after = timedelta(seconds=settings.convoy_bot_settle_seconds)
    # Telling a change waits at most for Slack (its client's timeout) after the settle window.
    journal = InFlightJournal(redis, report_within=settle_after + timedelta(seconds=SLACK_TIMEOUT))
    bindings = ChannelBindings(redis)
    return Stores(
        roles=RoleStore(redis, settings.convoy_bot_admins, SlackGroupDirectory(redis, calls)),
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
