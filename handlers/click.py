"""A button click as the bot reads it: who, where, which button, on which message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.change.model import Caller
from handlers.blocks.kit import without_buttons


@dataclass(frozen=True)
class Click:
    """The parts of a `block_actions` payload the bot uses; the value is never trusted."""

    caller: Caller
    action_id: str
    value: str
    message: dict[str, Any]
    response_url: str = ""

    @property
    def message_ts(self) -> str:
        return str(self.message.get("ts", ""))

    @property
    def text(self) -> str:
        return str(self.message.get("text", ""))

    @property
    def in_thread(self) -> bool:
        return self.message.get("thread_ts") not in (None, self.message_ts)

    @property
    def story(self) -> str:
        """The clicked message's first section (what a request asks), as Slack holds it."""
        for block in self.message.get("blocks") or []:
            if isinstance(block, dict) and block.get("type") == "section":
                return str((block.get("text") or {}).get("text", ""))
        return ""

    def without_buttons(self, line: str) -> list[dict[str, Any]]:
        """The clicked message as Slack holds it, its buttons taken away, a line added."""
        return without_buttons(self.message.get("blocks", []), line)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Click:
        action = (body.get("actions") or [{}])[0]
        channel = body.get("channel") or {}
        user = body.get("user") or {}
        message = body.get("message") or {}
        return cls(
            Caller(
                str(user.get("id", "")),
                str(channel.get("id", "")),
                str(body.get("trigger_id", "")),
            ),
            str(action.get("action_id", "")),
            str(action.get("value", "")),
            message if isinstance(message, dict) else {},
            str(body.get("response_url", "")),
        )
