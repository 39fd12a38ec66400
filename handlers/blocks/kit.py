"""The parts every message is built from: escaping, cutting, sections, buttons, times, names.

Every part keeps within Slack's Block Kit limits whatever it is given (`cut` shortens text at a
safe place), and `fitted` holds a whole message within them: the last word before Slack.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.access.roles import GLOBAL_SCOPE, is_group
from bot.durations import describe
from bot.models import Endpoint, EndpointStatus

Block = dict[str, Any]
Message = tuple[str, list[Block]]  # the plain-text fallback, and the blocks
MAX_REASON = 500
MAX_NAME = 200  # an endpoint's name (or any other name a user chose) inside a line
MAX_BLOCKS = 45  # lists are packed into this many blocks, with room for a few more
MESSAGE_BLOCKS = 50  # Slack's limits, from https://docs.slack.dev/reference/block-kit/
SECTION_LIMIT = 3000
BUTTON_LABEL = 75
OPTION_LABEL = 75
FALLBACK_LIMIT = 40_000
PACKED_SECTION = 2900  # lines are packed below the limit, with room for a newline or two
ELLIPSIS = "…"

STATUS_ICON = {
    EndpointStatus.ACTIVE: ":large_green_circle:",
    EndpointStatus.PAUSED: ":double_vertical_bar:",
    EndpointStatus.INACTIVE: ":red_circle:",
    EndpointStatus.UNKNOWN: ":grey_question:",
}


# A mention of a user (`<@U…>`, `<@U…|name>`) or a link to a channel (`<#C…|name>`): the only
# Slack tokens user text may keep. Channel-wide pings (`<!channel>`, `<!here>`, `<!everyone>`),
# user group pings (`<!subteam^…>`) and links stay text.
_LIVE = re.compile(r"<(?:@[UW][A-Z0-9]+|#[CG][A-Z0-9]+)(?:\|[^<>|]*)?>")
_ENTITY_LENGTH = len("&amp;")


def _inert(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """User text as mrkdwn: mentions of people and channels stay live, so a reason can name
    who is on it; everything else (`<!channel>`, `<!subteam^…>`, `<http://x|y>`) is inert."""
    parts, start = [], 0
    for live in _LIVE.finditer(text):
        parts += [_inert(text[start : live.start()]), live.group().replace("&", "&amp;")]
        start = live.end()
    return "".join([*parts, _inert(text[start:])])


def cut(text: str, limit: int) -> str:
    """text, or as much of it as fits in `limit` characters with an ellipsis: never cut inside
    a Slack token (`<@U…>`, `<!date^…>`) or an entity (`&amp;`), which would show as junk."""
    if len(text) <= limit:
        return text
    end = max(limit - len(ELLIPSIS), 0)
    opened = text.rfind("<", 0, end)
    if opened != -1 and text.find(">", opened, end) == -1:
        end = opened
    amp = text.rfind("&", max(end - _ENTITY_LENGTH, 0), end)
    if amp != -1 and ";" not in text[amp:end]:
        end = amp
    return text[:end].rstrip() + ELLIPSIS


def shown(text: str, limit: int = MAX_NAME) -> str:
    """User text (a name, a search, a reason) inside a line of mrkdwn: escaped, then cut."""
    return cut(escape(text), limit)


def _mrkdwn(text: str) -> Block:
    """A text object Slack takes: at most 3,000 characters, and never empty."""
    return {"type": "mrkdwn", "text": cut(text, SECTION_LIMIT) or "—"}


def section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def note(text: str) -> Block:
    """A small grey line under a message (escaped: it may hold anything)."""
    return context(escape(text))


def actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    built: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": cut(label, BUTTON_LABEL)},
        "value": value,
    }
    if style:
        built["style"] = style
    return built


def status_word(status: EndpointStatus) -> str:
    return status.value or "unknown"


def endpoint_ref(endpoint: Endpoint) -> str:
    return f"*{shown(endpoint.label)}* (`{shown(endpoint.uid)}`)"


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
    return shown(reason, MAX_REASON)


def mention(subject: str) -> str:
    """A user or user group, as Slack renders it."""
    return f"<!subteam^{escape(subject)}>" if is_group(subject) else f"<@{escape(subject)}>"


def scope_name(project: str) -> str:
    return "every project" if project == GLOBAL_SCOPE else f"project `{shown(project)}`"


def sections(header: str, lines: Sequence[str]) -> Message:
    """A header and lines packed into sections by length, at most MAX_BLOCKS blocks; what
    does not fit is counted, never silently dropped."""
    blocks = [section(header)]
    current: list[str] = []
    size = 0
    packed = 0
    for full_line in lines:
        line = cut(full_line, PACKED_SECTION)
        if current and size + len(line) + 1 > PACKED_SECTION:
            if len(blocks) == MAX_BLOCKS - 1:
                break
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        packed += 1
    if current:
        blocks.append(section("\n".join(current)))
    if packed < len(lines):
        blocks.append(context(f"…and {len(lines) - packed} more not shown."))
    return header + "\n" + "\n".join(lines), blocks


def project_note(alias: str) -> Block:
    """Which project a message is about, when the bot serves several."""
    return context(f"Project: `{escape(alias)}`")


def without_buttons(message_blocks: Sequence[Block], line: str) -> list[Block]:
    """A posted message's blocks (as Slack holds them) without its buttons, plus a line."""
    kept = [b for b in message_blocks if b.get("type") != "actions"]
    return fitted_blocks([*kept, context(line)])


def fitted_blocks(blocks: Sequence[Block]) -> list[Block]:
    """At most Slack's 50 blocks: the first ones, a line saying how many were left out, and
    the buttons at the end (what a reader acts on stays)."""
    if len(blocks) <= MESSAGE_BLOCKS:
        return list(blocks)
    tail = len(blocks)
    while tail > 0 and blocks[tail - 1].get("type") == "actions":
        tail -= 1
    buttons = list(blocks[tail:])[-2:]
    room = MESSAGE_BLOCKS - 1 - len(buttons)
    left_out = len(blocks) - len(buttons) - room
    return [*blocks[:room], context(f"…and {left_out} more not shown."), *buttons]


def fitted(text: str, blocks: Sequence[Block] | None) -> Message:
    """A whole message within Slack's limits: its fallback text and its number of blocks (the
    parts cut their own texts). Every message goes through this on its way to Slack."""
    return cut(text, FALLBACK_LIMIT), fitted_blocks(blocks or [])
