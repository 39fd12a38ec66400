"""The Slack Web API client the bot uses: slack_sdk's, timing every call for `/metrics`, and
the one way the bot calls it (`SlackCalls`: counted, and never raising)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from bot.metrics import Metrics

logger = logging.getLogger(__name__)

# Told of each call: its method, its result (`ok`, Slack's error code, the failure), seconds.
Observe = Callable[[str, str, float], None]


# The bot token of the workspace the calling work serves (bot.tenancy), or None.
TokenSource = Callable[[], Awaitable[str | None]]
# Waits for a method's turn in Slack's rate limits (bot.slack_rate), given the channel.
Pace = Callable[[str, str], Awaitable[None]]
# Methods that carry their own credentials (the OAuth exchange, an app-level token).
_OWN_CREDENTIALS = ("oauth.", "apps.")


class TimedWebClient(AsyncWebClient):
    """AsyncWebClient that reports each Web API call's method, result and duration.

    With a `token_source` (a bot serving many workspaces) it has no token of its own: each
    call carries the bot token of the workspace the calling work serves, unless the call
    names its own."""

    def __init__(
        self,
        observe: Observe,
        token_source: TokenSource | None = None,
        pace: Pace | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._observe = observe
        self._token_source = token_source
        self._pace = pace

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if self._token_source is not None and not _names_a_token(api_method, kwargs):
            token = await self._token_source()
            if token:
                # slack_sdk takes a `token` parameter as the call's credentials.
                kwargs["params"] = {**(kwargs.get("params") or {}), "token": token}
        if self._pace is not None and not api_method.startswith(_OWN_CREDENTIALS):
            await self._pace(api_method, _channel_of(kwargs))
        started, result = time.perf_counter(), "ok"
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            result = str(exc.response.get("error") or exc.response.status_code)
            raise
        except BaseException as exc:
            result = type(exc).__name__
            raise
        finally:
            self._observe(api_method, result, time.perf_counter() - started)


def _channel_of(kwargs: dict[str, Any]) -> str:
    for part in ("json", "params", "data"):
        channel = (kwargs.get(part) or {}).get("channel")
        if channel:
            return str(channel)
    return ""


def _names_a_token(api_method: str, kwargs: dict[str, Any]) -> bool:
    if api_method.startswith(_OWN_CREDENTIALS):
        return True
    return any("token" in (kwargs.get(part) or {}) for part in ("params", "json", "data"))


# What a Web API call can fail with: Slack's refusal, the network, or the client's timeout.
SLACK_FAILURES = (SlackApiError, ClientError, TimeoutError)


@dataclass(frozen=True)
class SlackAnswer:
    """What came of one Web API call: Slack's answer, or why there is none (Slack's error
    code, or the kind of failure)."""

    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ts(self) -> str:
        """The message's ts, for a post ("" when there is none)."""
        return str(self.data.get("ts") or "")


class SlackCalls:
    """Every Web API call the bot makes: the call, its count in
    `convoy_bot_slack_posts_total` by kind and result, and a failure logged in one line and
    returned, never raised. What a failure means for the person is the caller's to say,
    from `SlackAnswer.error` (`not_in_channel`: invite the bot)."""

    def __init__(self, slack: AsyncWebClient, metrics: Metrics) -> None:
        self.slack = slack
        self._metrics = metrics

    async def call(
        self,
        kind: str,
        method: Callable[..., Awaitable[AsyncSlackResponse]],
        /,
        **args: Any,
    ) -> SlackAnswer:
        """`method(**args)`, one of the client's Web API methods; `kind` counts it ("" for a
        read that is no post)."""
        try:
            answer = await method(**args)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
        except (ClientError, TimeoutError) as exc:
            error = type(exc).__name__
        else:
            if kind:
                self._metrics.slack_posts.labels(kind, "ok").inc()
            data = answer.data if isinstance(answer.data, dict) else {}
            return SlackAnswer(True, data)
        if kind:
            self._metrics.slack_posts.labels(kind, "failed").inc()
        logger.warning("%s failed: %s", _method_name(method), error)
        return SlackAnswer(False, error=error)

    async def post(
        self, kind: str, channel: str, text: str, blocks: Sequence[Any] | None, **extra: Any
    ) -> SlackAnswer:
        """A message in a channel (or a thread, or a person's DMs), fitted by the caller."""
        return await self.call(
            kind,
            self.slack.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks or None,
            unfurl_links=False,
            **extra,
        )

    async def update(
        self, kind: str, channel: str, ts: str, text: str, blocks: Sequence[Any], **extra: Any
    ) -> SlackAnswer:
        """Rewrite a message the bot posted, at any age."""
        return await self.call(
            kind, self.slack.chat_update, channel=channel, ts=ts, text=text, blocks=blocks, **extra
        )

    async def permalink(self, channel: str, ts: str) -> str:
        """A link to a message ("" when Slack will not say)."""
        if not ts:
            return ""
        answer = await self.call("", self.slack.chat_getPermalink, channel=channel, message_ts=ts)
        return str(answer.data.get("permalink") or "")


def _method_name(method: Callable[..., object]) -> str:
    """`chat.postMessage` from the client's `chat_postMessage`."""
    name = getattr(method, "__name__", "a Slack call")
    return name.replace("_", ".", 1)


class ResponseUrls:
    """Posts to Slack's response URLs over one long-lived session (keep-alive), where Bolt's
    `respond` would open a connection per reply."""

    def __init__(self, session: aiohttp.ClientSession, timeout_seconds: float) -> None:
        self._session = session
        self._timeout = timeout_seconds

    async def send(self, url: str, message: dict[str, Any]) -> WebhookResponse:
        client = AsyncWebhookClient(url=url, session=self._session, timeout=int(self._timeout))
        return await client.send_dict({k: v for k, v in message.items() if v is not None})


def slack_session() -> aiohttp.ClientSession:
    """The one HTTP session of the bot's calls to Slack (Web API and response URLs): its
    connections are kept and reused (made in the running loop, closed at exit)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30))
