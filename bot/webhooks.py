"""Posting an announcement to an endpoint's own Slack incoming webhook (SPEC §6)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from bot.http_transport import pooled_transport
from bot.logs import describe_failure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookResult:
    """What happened to the webhook post, in words fit for the channel message."""

    delivered: bool
    summary: str


NO_WEBHOOK = WebhookResult(False, "The endpoint has no Slack webhook configured.")


class WebhookPoster:
    """POSTs to allowed webhook URLs only; never follows redirects; failures are reported."""

    def __init__(self, http: httpx.AsyncClient, allowed_prefixes: list[str]) -> None:
        self._http = http
        self._prefixes = tuple(allowed_prefixes)

    def allows(self, url: str) -> bool:
        # A prefix check on the raw string would let `https://hooks.slack.com.evil.test/` or
        # `https://hooks.slack.com@evil.test/` through a prefix without a trailing slash, so
        # each configured prefix must end at a path boundary.
        return any(
            url.startswith(prefix if prefix.endswith("/") else prefix + "/")
            for prefix in self._prefixes
        )

    async def post(
        self, webhook_url: SecretStr, text: str, blocks: list[dict[str, Any]]
    ) -> WebhookResult:
        url = webhook_url.get_secret_value()
        if not url:
            return NO_WEBHOOK
        if not self.allows(url):
            return WebhookResult(
                False,
                "The endpoint's Slack webhook was not called: its URL is not on the "
                "allowed list (SLACK_WEBHOOK_URL_PREFIXES).",
            )
        try:
            response = await self._http.post(url, json={"text": text, "blocks": blocks})
        except httpx.TimeoutException:
            return WebhookResult(False, "The endpoint's Slack webhook did not answer in time.")
        except httpx.HTTPError as exc:
            logger.warning("webhook post failed: %s", describe_failure(exc))
            return WebhookResult(False, "The endpoint's Slack webhook could not be reached.")
        if response.is_success:
            return WebhookResult(True, "Posted to the endpoint's Slack webhook.")
        return WebhookResult(
            False, f"The endpoint's Slack webhook refused the post (HTTP {response.status_code})."
        )


def build_webhook_http_client() -> httpx.AsyncClient:
    """Short timeouts and no redirects: a webhook must never stall or steer a pause."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(5.0, connect=3.0),
        follow_redirects=False,
        transport=pooled_transport(httpx.Limits()),
    )
