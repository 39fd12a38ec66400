"""create_app: the Bolt app, acking from its listeners; the composition root registers them."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import describe_failure
from bot.metrics import Metrics
from handlers.installs import serve_in_workspace

logger = logging.getLogger(__name__)


class _TokenNoticeFilter(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the
    client we pass (with that same token) takes precedence: true, and not worth a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    bolt = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _TokenNoticeFilter) for f in bolt.filters):
        bolt.addFilter(_TokenNoticeFilter())
    return bolt


def create_app(
    slack: AsyncWebClient,
    signing_secret: str | None,
    installs: tuple[AsyncOAuthFlow, AsyncAuthorize] | None = None,
) -> AsyncApp:
    """An AsyncApp whose listeners only parse and ack, handing the slow part to a Worker.
    With `installs` (an OAuth flow and its authorize) it serves every workspace that
    installed it, each request in its own workspace (handlers.installs)."""
    app = AsyncApp(
        client=slack,
        signing_secret=signing_secret,
        oauth_flow=installs[0] if installs else None,
        # An AsyncAuthorize instance is taken as is (Bolt's annotation names only functions).
        authorize=installs[1] if installs else None,  # type: ignore[arg-type]
        # handlers.server checks every HTTP request's signature before Bolt sees it; Socket
        # Mode needs none.
        request_verification_enabled=False,
        # Listeners only parse and ack, and hand the slow part to the Worker: the HTTP reply
        # goes out as soon as the listener returns, without Bolt's 10 ms ack polling.
        process_before_response=True,
        logger=_bolt_logger(),
    )

    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # Bolt's default logs a traceback; ours records the kind of failure only.
        logger.error("unhandled error in a listener: %s", describe_failure(error))
        del body
        return BoltResponse(status=200, body="")

    app.error(on_error)

    async def own_client(
        context: AsyncBoltContext, next_: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        # Bolt hands each listener a plain client it builds per request; the bot's own one
        # times every Web API call for /metrics (and, serving many workspaces, sends each
        # with the token of the request's workspace).
        context["client"] = slack
        return await next_()

    app.middleware(own_client)
    if installs is not None:
        app.middleware(serve_in_workspace)
        # Bolt's listeners that delete an uninstalled workspace's tokens: built, but only
        # registered when asked (without, the events find no listener and nothing is deleted).
        app.enable_token_revocation_listeners()
    else:
        _say_when_the_token_dies(app)
    return app


def _say_when_the_token_dies(app: AsyncApp) -> None:
    """With one token: the app uninstalled, or its token revoked, is said loudly (every call
    to Slack fails from then on)."""

    async def uninstalled() -> None:
        logger.error(
            "the app was uninstalled from the workspace: SLACK_BOT_TOKEN no longer works; "
            "reinstall the app and set its new token"
        )

    async def revoked(event: dict[str, Any]) -> None:
        if event.get("tokens", {}).get("bot"):
            logger.error("Slack revoked SLACK_BOT_TOKEN: reinstall the app and set its new token")

    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(revoked)


def time_acks(app: AsyncApp, metrics: Metrics) -> None:
    """Time each request from Bolt's middleware to its listener's return: with
    process_before_response the listener returns right after its ack (the work runs later),
    so this is how long Slack waits, in HTTP and in Socket Mode alike."""

    async def timed(next_: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        started = time.perf_counter()
        try:
            return await next_()
        finally:
            metrics.acks.observe(time.perf_counter() - started)

    app.middleware(timed)
