"""What Slack sends the bot, built and signed exactly as Slack sends it: slash commands, button
clicks, message shortcuts, modal submissions, the options requests of a modal's menu, and the
Events API's `app_home_opened`.

The sender also holds the bot's answers to Slack's limits: an ack that carries a message, a
view or options beyond them fails the test (Slack would show an error instead).
"""

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

from tests.fakes.block_kit import message_problems, options_problems, view_problems


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
        issue_trigger: Callable[[str], None] | None = None,
        *,
        team_id: str = "T0EXAMPLE",
        enterprise_id: str = "",
        org_wide: bool = False,
    ) -> None:
        """`issue` registers a response URL token with the fake Slack and returns its URL, and
        `issue_trigger` a trigger id, as Slack issues both with every command and click
        (without them, URLs and trigger ids are only built)."""
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.fake_slack_url = fake_slack_url
        self.issue = issue
        self.issue_trigger = issue_trigger
        # The workspace the requests come from (of an Enterprise Grid org, installed org-wide).
        self.team_id = team_id
        self.enterprise_id = enterprise_id
        self.org_wide = org_wide
        # A fresh connection per request: the bot's server closes an idle kept-alive
        # connection after 5 s, and a request sent on it at that moment is lost unanswered
        # (a race of the test client, not of Slack's delivery, which retries).
        self.http = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))

    def response_url(self, token: str) -> str:
        if self.issue is not None:
            return self.issue(token)
        return f"{self.fake_slack_url}/response/{token}"

    def trigger_id(self, token: str) -> str:
        """The trigger id Slack sends with one request (it opens one modal, for 3 s)."""
        trigger = f"trigger-{token}"
        if self.issue_trigger is not None:
            self.issue_trigger(trigger)
        return trigger

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
        response = self.http.post(f"{self.bot_url}/slack/events", content=body, headers=headers)
        _check_ack(response)
        return response

    def _enterprise(self) -> dict[str, Any]:
        """What an interaction payload says of the org it came from, if any."""
        if not self.enterprise_id:
            return {}
        return {
            "enterprise": {"id": self.enterprise_id, "name": "Org"},
            "is_enterprise_install": self.org_wide,
        }

    def command_body(self, user_id: str, text: str, channel_id: str, token: str) -> bytes:
        return urlencode(
            {
                "token": "deprecated-verification-token",
                "team_id": self.team_id,
                "team_domain": "example",
                **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
                "channel_id": channel_id,
                "channel_name": "incidents",
                "user_id": user_id,
                "user_name": user_id.lower(),
                "command": "/convoy",
                "text": slack_escape(text),
                "api_app_id": "A0CONVOY",
                "is_enterprise_install": "true" if self.org_wide else "false",
                "response_url": self.response_url(token),
                "trigger_id": self.trigger_id(token),
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
        payload = {
            **self._click_payload(user_id, action_id, "b", value, token),
            "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": False},
            "channel": {"id": channel_id, "name": "incidents"},
            "response_url": self.response_url(token),
        }
        if message is not None:
            payload["message"] = message
            payload["container"]["message_ts"] = message.get("ts", "")
        return urlencode({"payload": json.dumps(payload)}).encode()

    def _click_payload(
        self, user_id: str, action_id: str, block_id: str, value: str, token: str
    ) -> dict[str, Any]:
        """What every `block_actions` payload carries, wherever the button was."""
        return {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "example"},
            **self._enterprise(),
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "A0CONVOY",
            "token": "deprecated-verification-token",
            "trigger_id": self.trigger_id(token),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "text": {"type": "plain_text", "text": "button"},
                    "action_ts": str(time.time()),
                }
            ],
        }

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

    def home_opened(self, user_id: str, tab: str = "home") -> httpx.Response:
        """An Events API `event_callback` carrying `app_home_opened`, as Slack sends it (JSON,
        signed) when someone opens the app's Home tab, or its Messages tab (`tab`)."""
        return self.event(
            {
                "type": "app_home_opened",
                "user": user_id,
                "channel": f"D{user_id[1:]}",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            }
        )

    def event(self, event: dict[str, Any]) -> httpx.Response:
        """An Events API `event_callback` carrying `event`, from this sender's workspace."""
        payload = {
            "token": "deprecated-verification-token",
            "team_id": self.team_id,
            **({"enterprise_id": self.enterprise_id} if self.enterprise_id else {}),
            "api_app_id": "A0CONVOY",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": self.enterprise_id or None,
                    "team_id": None if self.org_wide else self.team_id,
                    "user_id": "UBOTCONVOY",
                    "is_bot": True,
                    "is_enterprise_install": self.org_wide,
                }
            ],
            "event": event,
        }
        return self.post(json.dumps(payload).encode(), content_type="application/json")

    def click_on_home(
        self, user_id: str, view: dict[str, Any], action_id: str, block_id: str, value: str
    ) -> Sent:
        """A click on the App Home tab, as Slack sends it: the view it was clicked in, and no
        channel, message or response URL."""
        token = uuid.uuid4().hex
        payload = {
            **self._click_payload(user_id, action_id, block_id, value, token),
            "container": {"type": "view", "view_id": view.get("id", "VHOME")},
            "view": {"id": "VHOME", **view},
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return Sent(self.post(body), token)

    def shortcut(
        self,
        user_id: str,
        callback_id: str,
        message: dict[str, Any],
        *,
        channel_id: str = "C0INCIDENT",
    ) -> Sent:
        """A message shortcut chosen from a message's menu (`message_action`)."""
        token = uuid.uuid4().hex
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self.trigger_id(token),
            "response_url": self.response_url(token),
            "team": {"id": self.team_id, "domain": "example"},
            **self._enterprise(),
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "channel": {"id": channel_id, "name": "incidents"},
            "message": message,
            "message_ts": message.get("ts", ""),
            "action_ts": str(time.time()),
            "api_app_id": "A0CONVOY",
            "token": "deprecated-verification-token",
            "is_enterprise_install": self.org_wide,
        }
        return Sent(self.post(_form(payload)), token)

    def suggest(self, user_id: str, view: dict[str, Any], block_id: str, typed: str) -> Any:
        """What a modal's external menu asks as the user types (`block_suggestion`); the
        bot's answer, checked against Slack's limits."""
        element = _input(view, block_id)["element"]
        payload = {
            "type": "block_suggestion",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "container": {"type": "view", "view_id": view.get("id", "")},
            "api_app_id": "A0CONVOY",
            "token": "deprecated-verification-token",
            "action_id": element["action_id"],
            "block_id": block_id,
            "value": typed,
            "team": {"id": self.team_id, "domain": "example"},
            **self._enterprise(),
            "view": view,
        }
        response = self.post(_form(payload))
        assert response.status_code == 200, response.text
        return response.json()

    def submit(self, user_id: str, view: dict[str, Any], answers: dict[str, Any]) -> Sent:
        """A modal submitted (`view_submission`) with `answers` by input block id: text for a
        text input, an option for a menu. It carries no response URL, only a trigger id."""
        token = uuid.uuid4().hex
        payload = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "example"},
            **self._enterprise(),
            "user": {"id": user_id, "username": user_id.lower(), "team_id": self.team_id},
            "api_app_id": "A0CONVOY",
            "token": "deprecated-verification-token",
            "trigger_id": self.trigger_id(token),
            "view": {**view, "state": {"values": view_state(view, answers)}},
            "response_urls": [],
            "is_enterprise_install": self.org_wide,
        }
        return Sent(self.post(_form(payload)), token)


def view_state(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack fills it: every input block, answered or left as it was."""
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, answer = element["type"], answers.get(block["block_id"])
        if kind == "plain_text_input":
            state = {"type": kind, "value": answer if answer is not None else None}
        else:
            state = {"type": kind, "selected_option": answer or element.get("initial_option")}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def _input(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    for block in view.get("blocks", []):
        if block.get("type") == "input" and block.get("block_id") == block_id:
            return dict(block)
    raise AssertionError(f"no input block {block_id!r} in the view")


def _form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def _check_ack(response: httpx.Response) -> None:
    """The bot's HTTP answer, when it carries a message, a view or options, is within Slack's
    limits: Slack shows an error instead of an answer that is not."""
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        return
    try:
        answer = response.json()
    except ValueError:
        return
    if not isinstance(answer, dict):
        return
    if "options" in answer or "option_groups" in answer:
        problems = options_problems(answer)
    elif "view" in answer:
        problems = view_problems(answer["view"])
    else:
        problems = message_problems(answer)[1]
    assert not problems, f"the bot's ack breaks Slack's limits: {problems}"
