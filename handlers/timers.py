"""What the scheduler says in Slack: auto-resumes and reminders, in the pause's thread."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

from bot.holds import Hold
from bot.operations import AutoResume
from bot.services import Services
from handlers import blocks

logger = logging.getLogger(__name__)


def scheduler_callbacks(
    services: Services,
) -> tuple[Callable[[AutoResume], Awaitable[None]], Callable[[Hold], Awaitable[None]]]:
    """The two callbacks bot.scheduler.Scheduler takes, bound to the services."""

    async def on_resumed(result: AutoResume) -> None:
        hold, change = result.hold, result.change
        if hold is None:
            return  # a timer of a pause that already ended: nothing to say
        now = services.operations.clock.now()
        if change is None:
            await _post(
                services, hold, blocks.auto_resume_skipped_message(hold, result.skipped), []
            )
            return
        services.metrics.changes.labels("auto-resume", change.outcome.value).inc()
        if not change.changed:
            await _post(services, hold, blocks.unchanged_message(change), [])
            return
        text, message_blocks = blocks.auto_resumed_message(hold, change, now)
        webhook = await services.webhooks.post(
            change.endpoint.slack_webhook_url, text, message_blocks
        )
        message_blocks.append(blocks.note(webhook.summary))
        if change.resumed is not None and change.resumed.discarded:
            message_blocks.append(blocks.retry_actions(change.endpoint, change.resumed))
        await _post(services, hold, text, message_blocks, broadcast=True)

    async def on_reminder(hold: Hold) -> None:
        text, reminder_blocks = blocks.reminder_message(hold, services.operations.clock.now())
        await _post(services, hold, text, reminder_blocks)

    return on_resumed, on_reminder


async def _post(
    services: Services,
    hold: Hold,
    text: str,
    message_blocks: list[dict[str, Any]],
    *,
    broadcast: bool = False,
) -> None:
    """In the thread of the pause's announcement (also in the channel when broadcast); to the
    person who paused, as a direct message, when the channel cannot be reached."""
    for channel, thread in ((hold.channel_id, hold.message_ts), (hold.actor, "")):
        if not channel:
            continue
        try:
            await services.slack.chat_postMessage(
                channel=channel,
                text=text,
                blocks=message_blocks or None,
                thread_ts=thread or None,
                reply_broadcast=broadcast and bool(thread),
                unfurl_links=False,
            )
            services.metrics.slack_posts.labels("timer", "ok").inc()
            return
        except (SlackApiError, ClientError, TimeoutError) as exc:
            services.metrics.slack_posts.labels("timer", "failed").inc()
            logger.warning("timer post failed: %s", type(exc).__name__)
