"""The App Home tab: one person's board, as a `home` view within Slack's 100 blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.approvals.store import ApprovalRequest
from bot.durations import describe
from bot.home.board import Board, ProjectBoard
from handlers.blocks.changes import auto_resume_when
from handlers.blocks.kit import (
    PACKED_SECTION,
    Block,
    context,
    cut,
    endpoint_ref,
    escape,
    reason_text,
    section,
    shown,
    when,
)
from handlers.blocks.requests import decide_buttons, request_ref

VIEW_BLOCKS = 100  # Slack's limit for a Home view
MAX_DECIDE = 20  # requests shown with their buttons (two blocks each); the rest are counted
NO_ROLE = (
    ":wave: *Nothing here for you yet.* You hold no role in any Convoy project this bot "
    "serves, so there is nothing to show or to decide."
)


def home_view(board: Board) -> dict[str, Any]:
    """The person's board: requests to decide (with Approve and Deny), their own requests,
    pauses with their timers, failing endpoints and their role in each project."""
    if not board.projects:
        return {"type": "home", "blocks": _no_role(board)}
    several = len(board.projects) > 1
    blocks: list[Block] = [
        section("*Your roles:* " + " · ".join(_role(p) for p in board.projects)),
    ]
    blocks += _to_decide([(p, r) for p in board.projects for r in p.to_decide], several)
    blocks += _listed(
        "*Your requests waiting for an approver*",
        [_mine(p, r, several) for p in board.projects for r in p.mine],
    )
    blocks += _listed(
        "*Paused through the bot*",
        [
            f"• {_in(p, several)}{endpoint_ref(h.endpoint)} paused by <@{escape(h.actor)}> "
            f"{when(h.paused_since)} — auto-resume: {auto_resume_when(h, board.at)}"
            for p in board.projects
            for h in p.paused
        ],
    )
    blocks += _listed(
        "*Failing now*",
        [
            f"• {_in(p, several)}*{shown(f.seen.name or f.uid)}* (`{shown(f.uid)}`): "
            + ("rate unknown" if f.seen.rate is None else f"{f.seen.rate:.1f}% failing")
            for p in board.projects
            for f in p.failing
        ],
    )
    blocks.append(context(f"Updated {when(board.at)}."))
    return {"type": "home", "blocks": _within(blocks)}


def _no_role(board: Board) -> list[Block]:
    ask = ", ".join(f"<@{escape(a)}>" for a in board.admins) or "an admin of this bot"
    return [
        section(NO_ROLE),
        section(
            f"Ask {ask} to grant you a role, for example "
            f"`/convoy roles grant <@{escape(board.user_id)}> viewer` in a project's channel."
        ),
        context(f"Updated {when(board.at)}."),
    ]


def _role(board: ProjectBoard) -> str:
    return f"`{escape(board.project.alias)}` {board.role.label}"


def _in(board: ProjectBoard, several: bool) -> str:
    return f"`{escape(board.project.alias)}` " if several else ""


def _to_decide(waiting: list[tuple[ProjectBoard, ApprovalRequest]], several: bool) -> list[Block]:
    if not waiting:
        return []
    blocks = [section(f"*Requests waiting for your decision* ({len(waiting)})")]
    for board, request in waiting[:MAX_DECIDE]:
        timed = f" for *{describe(request.duration)}*" if request.duration else ""
        blocks.append(
            section(
                cut(
                    f"{_in(board, several)}<@{escape(request.requester)}> asks to "
                    f"*{request.action.value}* {request_ref(request)}{timed}\n"
                    f"*Reason:* {reason_text(request.reason)} · expires "
                    f"{when(request.expires_at)}",
                    PACKED_SECTION,
                )
            )
        )
        # The block id tells the click it came from the Home tab (see handlers.home).
        blocks.append(decide_buttons(request, f"home_decide_{len(blocks)}"))
    if len(waiting) > MAX_DECIDE:
        blocks.append(context(f"…and {len(waiting) - MAX_DECIDE} more, in their channels."))
    return blocks


def _mine(board: ProjectBoard, request: ApprovalRequest, several: bool) -> str:
    return (
        f"• {_in(board, several)}{request.action.value} {request_ref(request)} — expires "
        f"{when(request.expires_at)}"
    )


def _listed(header: str, lines: Sequence[str]) -> list[Block]:
    """A header and its lines packed into sections; nothing when there are no lines."""
    if not lines:
        return []
    blocks = [section(f"{header} ({len(lines)})")]
    current: list[str] = []
    size = 0
    for full in lines:
        line = cut(full, PACKED_SECTION)
        if current and size + len(line) + 1 > PACKED_SECTION:
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    blocks.append(section("\n".join(current)))
    return blocks


def _within(blocks: list[Block]) -> list[Block]:
    """At most Slack's 100 blocks: requests come first, so their buttons are kept; a line
    says what was left out."""
    if len(blocks) <= VIEW_BLOCKS:
        return blocks
    return [
        *blocks[: VIEW_BLOCKS - 1],
        context(f"…and {len(blocks) - VIEW_BLOCKS + 1} more blocks not shown."),
    ]
