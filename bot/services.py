"""The bot's long-lived services, built once by the composition root and closed there."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals import ApprovalStore
from bot.audit import AuditLog
from bot.background import BackgroundTasks
from bot.choices import ChoiceStore
from bot.claims import ButtonClaims
from bot.clock import Clock, SystemClock
from bot.convoy import ConvoyClient, build_http_client
from bot.errors import ConvoyError
from bot.holds import HoldStore
from bot.locks import EndpointLocks
from bot.metrics import Metrics
from bot.operations import Operations
from bot.rate_limits import ChangeRateLimiter
from bot.roles import RoleStore
from bot.settings import Settings
from bot.user_groups import SlackGroupDirectory
from bot.webhooks import WebhookPoster, build_webhook_http_client


@dataclass
class Services:
    """Everything a handler may call into; nothing here is a module-level global."""

    settings: Settings
    redis: aioredis.Redis
    slack: AsyncWebClient
    operations: Operations
    webhooks: WebhookPoster
    metrics: Metrics
    tasks: BackgroundTasks
    _http_clients: tuple[httpx.AsyncClient, ...]

    async def readiness(self) -> dict[str, str]:
        """Whether Redis and Convoy answer: the body of `/readyz`."""
        checks: dict[str, str] = {}
        try:
            await self.redis.ping()
            checks["redis"] = "ok"
        except RedisError:
            checks["redis"] = "unreachable"
        try:
            await self.operations.convoy.probe()
            checks["convoy"] = "ok"
        except ConvoyError as exc:
            checks["convoy"] = exc.message
        return checks

    async def aclose(self) -> None:
        for client in self._http_clients:
            await client.aclose()
        await self.redis.aclose()


def redis_client(url: str) -> aioredis.Redis:
    """A pooled client with timeouts, so a dead Redis fails fast and closed.

    The pool makes callers wait (briefly) for a free connection rather than fail at once
    when a burst wants more connections than it holds.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=5,
        decode_responses=True,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it


def build_services(settings: Settings, redis_url: str, clock: Clock | None = None) -> Services:
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
        timeout=10,
        # A 429 means Slack did not post: waiting Retry-After and sending again is safe.
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    operations = Operations(
        convoy=ConvoyClient(convoy_http, settings.convoy_project_id),
        roles=RoleStore(redis, settings.convoy_bot_admins, SlackGroupDirectory(redis, slack)),
        locks=EndpointLocks(redis, settings.convoy_bot_lock_ttl_seconds),
        choices=ChoiceStore(redis),
        approvals=ApprovalStore(redis, settings.convoy_bot_approval_ttl),
        claims=ButtonClaims(redis),
        audit=AuditLog(redis),
        rate=ChangeRateLimiter(settings.convoy_bot_changes_per_minute),
        holds=HoldStore(redis, settings.convoy_bot_reminder_lead),
        clock=clock or SystemClock(),
        max_pause=settings.convoy_bot_max_pause,
    )
    return Services(
        settings=settings,
        redis=redis,
        slack=slack,
        operations=operations,
        webhooks=WebhookPoster(webhook_http, settings.slack_webhook_url_prefixes),
        metrics=Metrics(),
        tasks=BackgroundTasks(),
        _http_clients=(convoy_http, webhook_http),
    )
