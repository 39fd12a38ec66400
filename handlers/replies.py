"""Where a listener's answers go: privately to the caller, or into the channel for everyone.

Every message passes `fitted` on its way, so none is refused for Block Kit's limits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientError
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from bot.logs import describe_failure
from bot.metrics import Metrics
from bot.slack_client import ResponseUrls, SlackCalls
from handlers.blocks.kit import fitted

logger = logging.getLogger(__name__)

Blocks = list[dict[str, Any]]
_NOT_A_MEMBER = ("not_in_channel", "channel_not_found")


class ResponseUrlRefused(Exception):
    """Slack answered a response-URL post with an error status (used up, expired, or down):
    nothing was shown. Bolt's `respond` returns such answers instead of raising."""


@dataclass(frozen=True)
class Posted:
    """Where a message went: its channel and ts when it can be updated later, and whether it
    reached anyone at all (with Slack's error when not)."""

    channel_id: str
    ts: str
    shown: bool
    error: str = ""
    thread_ts: str = ""  # the thread it went into, if any

    @property
    def anchor(self) -> str:
        """The message later replies about the same thing should thread under."""
        return self.thread_ts or self.ts


class DirectMessages(AsyncRespond):
    """Where a Home click's private replies go: a direct message from the app to the person
    (the Messages tab is read-only: they read it, they cannot answer there). A click on the
    App Home tab, or a form opened from it, has no response URL to answer through."""

    def __init__(self, client: AsyncWebClient, user_id: str) -> None:
        super().__init__(response_url=None)
        self._client = client
        self._user_id = user_id

    async def __call__(  # noqa: PLR0917  # Bolt's own signature, kept whole
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        del attachments, response_type, replace_original, delete_original, thread_ts, metadata
        del unfurl_links, unfurl_media
        await self._client.chat_postMessage(
            channel=self._user_id, text=str(text), blocks=blocks or None, unfurl_links=False
        )
        return WebhookResponse(url="", status_code=200, body="", headers={})


@dataclass(frozen=True)
class Replies:
    """Answers for one command or click: ephemeral via `respond`, durable via the Web API."""

    respond: AsyncRespond
    client: AsyncWebClient
    channel_id: str
    metrics: Metrics
    responses: ResponseUrls | None = None  # response URLs over kept connections

    @property
    def calls(self) -> SlackCalls:
        """This request's Web API client (its workspace's token), counted and never raising."""
        return SlackCalls(self.client, self.metrics)

    async def _respond(self, **message: Any) -> None:
        url = self.respond.response_url
        if self.responses is not None and url:
            response = await self.responses.send(url, message)
        else:
            response = await self.respond(**message)
        if response.status_code != 200:
            raise ResponseUrlRefused(response.status_code)

    async def private(self, text: str, blocks: Blocks | None = None) -> None:
        """An ephemeral reply seen only by the caller."""
        text, blocks = fitted(text, blocks)
        try:
            await self._respond(
                text=text, blocks=blocks or None, response_type="ephemeral", replace_original=False
            )
            self.metrics.slack_posts.labels("private", "ok").inc()
        except (ClientError, TimeoutError, SlackApiError, ResponseUrlRefused) as exc:
            self.metrics.slack_posts.labels("private", "failed").inc()
            logger.warning("private reply failed: %s", describe_failure(exc))

    async def channel(
        self, text: str, blocks: Blocks, *, metadata: dict[str, Any] | None = None
    ) -> Posted:
        """Post in the channel so the message can be updated later.

        When the bot is not in the channel, the message still goes in via the response URL
        (not updatable after 30 minutes) and the caller learns how to invite the bot. The
        result says whether the message reached the channel at all; callers say the rest.
        """
        text, blocks = fitted(text, blocks)
        answer = await self.calls.post("channel", self.channel_id, text, blocks, metadata=metadata)
        if answer.ok:
            return Posted(self.channel_id, answer.ts, shown=True)
        error = answer.error
        if error not in _NOT_A_MEMBER:
            return Posted(self.channel_id, "", shown=False, error=error)
        try:
            await self._respond(text=text, blocks=blocks, response_type="in_channel")
        except (ClientError, TimeoutError, SlackApiError, ResponseUrlRefused) as exc:
            logger.warning("posting through the response URL failed: %s", describe_failure(exc))
            return Posted(self.channel_id, "", shown=False, error=error)
        await self.private(
            ":information_source: I posted that through the slash command because I am "
            "not a member of this channel. Invite me with `/invite @Convoy` so my "
            "messages can be updated later."
        )
        return Posted(self.channel_id, "", shown=True)

    async def update(
        self, ts: str, text: str, blocks: Blocks, *, metadata: dict[str, Any] | None = None
    ) -> Posted:
        """Rewrite the message a button was clicked on (its buttons go away).

        `chat.update` works at any age; a message the bot had to post through a response URL
        (it was not in the channel) is rewritten through the click's own response URL.
        """
        text, blocks = fitted(text, blocks)
        if ts:
            answer = await self.calls.update(
                "update", self.channel_id, ts, text, blocks, metadata=metadata
            )
            if answer.ok:
                return Posted(self.channel_id, ts, shown=True)
        try:
            await self._respond(text=text, blocks=blocks, replace_original=True)
        except (ClientError, TimeoutError, SlackApiError, ResponseUrlRefused) as exc:
            logger.warning("replacing the message failed: %s", describe_failure(exc))
            return Posted(self.channel_id, "", shown=False, error=type(exc).__name__)
        return Posted(self.channel_id, ts, shown=True)

    async def ephemeral_to(self, user_id: str, text: str) -> None:
        """A private notice in this channel for someone other than the clicker."""
        text, _ = fitted(text, None)
        calls = self.calls
        await calls.call(
            "ephemeral",
            calls.slack.chat_postEphemeral,
            channel=self.channel_id,
            user=user_id,
            text=text,
        )
