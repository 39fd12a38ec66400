"""Slash commands and button clicks, built and signed exactly as Slack sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_escape(text: str) -> str:
    """How Slack escapes the three control characters in slash-command text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Sent:
    """A request sent to the bot, with the response URL token its replies will use."""

    response: httpx.Response
    token: str


class SlackSender:
    """Posts signed requests to the bot's `/slack/events` as Slack would."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        fake_slack_url: str,
        issue: Callable[[str], str] | None = None,
    ) -> None:
        """`issue` registers a response URL token with the fake Slack and returns its URL, as
        Slack issues one with every command and click (without it, URLs are only built)."""
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.fake_slack_url = fake_slack_url
        self.issue = issue
        self.http = httpx.Client(timeout=10)

    def response_url(self, token: str) -> str:
        if self.issue is not None:
            return self.issue(token)
        return f"{self.fake_slack_url}/response/{token}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SlackSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def post(
        self,
        body: bytes,
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        content_type: str = "application/x-www-form-urlencoded",
        extra_headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        """POST body to /slack/events, signed as Slack signs it unless `signed` is False;
        `timestamp` and `signature` replace the right ones, `extra_headers` are added."""
        headers = {"Content-Type": content_type, **(extra_headers or {})}
        if signed:
            stamp = timestamp or str(int(time.time()))
            headers["X-Slack-Request-Timestamp"] = stamp
            headers["X-Slack-Signature"] = signature or slack_signature(
                self.signing_secret, stamp, body
            )
        return self.http.post(f"{self.bot_url}/slack/events", content=body, headers=headers)

    def command_body(self, user_id: str, text: str, channel_id: str, token: str) -> bytes:
        return urlencode(
            {
                "token": "deprecated-verification-token",
                "team_id": "T0EXAMPLE",
                "team_domain": "example",
                "channel_id": channel_id,
                "channel_name": "incidents",
                "user_id": user_id,
                "user_name": user_id.lower(),
                "command": "/convoy",
                "text": slack_escape(text),
                "api_app_id": "A0CONVOY",
                "is_enterprise_install": "false",
                "response_url": self.response_url(token),
                "trigger_id": f"trigger-{token}",
            }
        ).encode()

    def command(self, user_id: str, text: str, channel_id: str = "C0INCIDENT") -> Sent:
        token = uuid.uuid4().hex
        return Sent(self.post(self.command_body(user_id, text, channel_id, token)), token)

    def click_body(
        self,
        user_id: str,
        action_id: str,
        value: str,
        token: str,
        *,
        channel_id: str = "C0INCIDENT",
        message: dict[str, Any] | None = None,
    ) -> bytes:
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": "T0EXAMPLE", "domain": "example"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0EXAMPLE"},
            "api_app_id": "A0CONVOY",
            "token": "deprecated-verification-token",
            "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": False},
            "trigger_id": f"trigger-{token}",
            "channel": {"id": channel_id, "name": "incidents"},
            "response_url": self.response_url(token),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "text": {"type": "plain_text", "text": "button"},
                    "action_ts": str(time.time()),
                }
            ],
        }
        if message is not None:
            payload["message"] = message
            payload["container"]["message_ts"] = message.get("ts", "")
        return urlencode({"payload": json.dumps(payload)}).encode()

    def click(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        channel_id: str = "C0INCIDENT",
        message: dict[str, Any] | None = None,
    ) -> Sent:
        token = uuid.uuid4().hex
        body = self.click_body(
            user_id, action_id, value, token, channel_id=channel_id, message=message
        )
        return Sent(self.post(body), token)
