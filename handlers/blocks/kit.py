"""The parts every message is built from: escaping, sections, buttons, times and names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.durations import describe
from bot.models import Endpoint, EndpointStatus
from bot.roles import GLOBAL_SCOPE, is_group

Block = dict[str, Any]
Message = tuple[str, list[Block]]  # the plain-text fallback, and the blocks
MAX_REASON = 500
MAX_BLOCKS = 45  # Slack allows 50 per message; leave room
SECTION_LIMIT = 3000
PACKED_SECTION = 2900  # lines are packed below the limit, with room for a newline or two

STATUS_ICON = {
    EndpointStatus.ACTIVE: ":large_green_circle:",
    EndpointStatus.PAUSED: ":double_vertical_bar:",
    EndpointStatus.INACTIVE: ":red_circle:",
    EndpointStatus.UNKNOWN: ":grey_question:",
}


def escape(text: str) -> str:
    """Escape user text for mrkdwn, so `<!channel>` or `<http://x|y>` stay inert."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def note(text: str) -> Block:
    """A small grey line under a message (escaped: it may hold anything)."""
    return context(escape(text))


def actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    built: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label[:75]},
        "value": value,
    }
    if style:
        built["style"] = style
    return built


def status_word(status: EndpointStatus) -> str:
    return status.value or "unknown"


def endpoint_ref(endpoint: Endpoint) -> str:
    return f"*{escape(endpoint.label)}* (`{escape(endpoint.uid)}`)"


def when(moment: datetime) -> str:
    """A time every reader sees in their own zone, with UTC beside it for copying."""
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time_secs}}|{fallback}> ({fallback})"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def relative(moment: datetime, now: datetime) -> str:
    return describe(max(moment - now, timedelta(0)))


def reason_text(reason: str) -> str:
    if not reason:
        return "_no reason given_"
    short = reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…"
    return escape(short)


def mention(subject: str) -> str:
    """A user or user group, as Slack renders it."""
    return f"<!subteam^{escape(subject)}>" if is_group(subject) else f"<@{escape(subject)}>"


def scope_name(project: str) -> str:
    return "every project" if project == GLOBAL_SCOPE else f"project `{escape(project)}`"


def sections(header: str, lines: Sequence[str]) -> Message:
    """A header and lines packed into sections by length, at most MAX_BLOCKS blocks; what
    does not fit is counted, never silently dropped."""
    blocks = [section(header)]
    current: list[str] = []
    size = 0
    shown = 0
    for full_line in lines:
        line = full_line[:PACKED_SECTION]
        if current and size + len(line) + 1 > PACKED_SECTION:
            if len(blocks) == MAX_BLOCKS - 1:
                break
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        shown += 1
    if current:
        blocks.append(section("\n".join(current)))
    if shown < len(lines):
        blocks.append(context(f"…and {len(lines) - shown} more not shown."))
    return header + "\n" + "\n".join(lines), blocks


def project_note(alias: str) -> Block:
    """Which project a message is about, when the bot serves several."""
    return context(f"Project: `{escape(alias)}`")


def without_buttons(message_blocks: Sequence[Block], line: str) -> list[Block]:
    """A posted message's blocks (as Slack holds them) without its buttons, plus a line."""
    kept = [b for b in message_blocks if b.get("type") != "actions"]
    return [*kept, context(line)]
