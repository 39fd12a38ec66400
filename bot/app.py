"""create_app: the Bolt app with every listener wired to the services."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.scheduler import Scheduler
from bot.services import Services
from bot.settings import Settings

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


def create_app(settings: Settings, services: Services) -> AsyncApp:
    """An AsyncApp that acks from its listeners and does the work in tracked background tasks."""
    from handlers import actions, commands  # noqa: PLC0415  # the one place bot/ meets handlers/

    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        client=services.slack,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # bot.server checks every HTTP request's signature before Bolt sees it; Socket Mode
        # needs none.
        request_verification_enabled=False,
        # Listeners only parse and ack, and hand the slow part to services.tasks: the HTTP
        # reply goes out as soon as the listener returns, without Bolt's 10 ms ack polling.
        process_before_response=True,
        logger=_bolt_logger(),
    )

    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # Bolt's default logs a traceback; ours records the kind of failure only.
        logger.error("unhandled error in a listener: %s", type(error).__name__)
        del body
        return BoltResponse(status=200, body="")

    app.error(on_error)
    commands.register(app, services)
    actions.register(app, services)
    return app


def build_scheduler(services: Services) -> Scheduler:
    """The timer loop, reporting through the Slack-facing callbacks."""
    from handlers.timers import scheduler_callbacks  # noqa: PLC0415  # as in create_app

    on_resumed, on_reminder = scheduler_callbacks(services)
    return Scheduler(
        services.operations,
        on_resumed=on_resumed,
        on_reminder=on_reminder,
        interval_seconds=services.settings.convoy_bot_scheduler_interval_seconds,
    )
