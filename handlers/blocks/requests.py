"""Messages about approval requests: the request, its decision, and the notices around it."""

from __future__ import annotations

from datetime import datetime

from bot.approvals.store import ApprovalRequest, RequestState
from bot.change.model import Change
from bot.durations import describe
from bot.models import Action, EndpointStatus
from handlers import ids
from handlers.blocks.answers import unchanged_message, unchanged_sentence
from handlers.blocks.changes import (
    auto_resume_block,
    change_buttons,
    resume_summary_line,
    status_text,
)
from handlers.blocks.kit import (
    MAX_REASON,
    Block,
    Message,
    actions,
    button,
    context,
    endpoint_ref,
    escape,
    reason_text,
    section,
    shown,
    when,
)
from handlers.buttons import RequestValue

OUTDATED = (
    "The pause this request was about is over (the endpoint was resumed, or paused again "
    "since), so there is nothing to approve. Nothing was changed."
)


def request_ref(request: ApprovalRequest) -> str:
    return f"*{shown(request.endpoint_name)}* (`{shown(request.endpoint_uid)}`)"


def _request_story(request: ApprovalRequest) -> list[Block]:
    """Who asked for what and why: kept when the message is updated with the outcome."""
    status = request.endpoint_status or "unknown"
    risk = ""
    if request.action is Action.RESUME and request.endpoint_status == EndpointStatus.INACTIVE:
        risk = (
            "\n:warning: Convoy *disabled* this endpoint after repeated delivery failures. "
            "Approving re-enables traffic Convoy cut off."
        )
    timed = f" for *{describe(request.duration)}*" if request.duration else ""
    return [
        section(
            f":raising_hand: <@{request.requester}> asks to *{request.action.value}* "
            f"{request_ref(request)}{timed}"
        ),
        section(
            f"*Status when asked:* {escape(status)}\n"
            f"*Reason:* {reason_text(request.reason)}\n"
            f"*Asked:* {when(request.created_at)}{risk}"
        ),
    ]


def request_message(request: ApprovalRequest) -> Message:
    """The in-channel approval request with Approve and Deny buttons."""
    timed = f" for {describe(request.duration)}" if request.duration else ""
    text = (
        f"<@{request.requester}> asks to {request.action.value} {shown(request.endpoint_name)}"
        f"{timed}: {shown(request.reason, MAX_REASON) or 'no reason given'}. "
        "An approver must approve or deny."
    )
    blocks = [
        *_request_story(request),
        context(f"Expires {when(request.expires_at)} · approvers decide; not the requester."),
        decide_buttons(request),
    ]
    return text, blocks


def decide_buttons(request: ApprovalRequest, block_id: str = "decide") -> Block:
    """Approve and Deny for one request, wherever it is shown (its channel, the App Home):
    the same buttons, decided exactly once by the same claim."""
    value = RequestValue(request_id=request.id, project=request.project).encode()
    return actions(
        block_id,
        button(ids.APPROVE_BUTTON, "Approve", value, "primary"),
        button(ids.DENY_BUTTON, "Deny", value, "danger"),
    )


def _decision_outcome(
    request: ApprovalRequest, state: RequestState, change: Change | None, at: datetime
) -> tuple[str, str]:
    """(icon, line) saying how the request ended; the line is the message's fallback too."""
    decider = f"<@{request.decided_by}>" if request.decided_by else "nobody"
    if state is RequestState.EXPIRED:
        return ":hourglass:", f"Expired at {when(request.expires_at)}. Nothing was changed."
    if state is RequestState.DENIED:
        why = f"\n*Reason for denying:* {reason_text(request.decision_reason)}"
        return (
            ":no_entry_sign:",
            f"*Denied* by {decider} at {when(at)}. Nothing was changed."
            + (why if request.decision_reason else ""),
        )
    if state is RequestState.OUTDATED:
        return ":information_source:", OUTDATED
    approved = f"*Approved* by {decider} at {when(at)}"
    if change is not None and change.changed:
        done = "paused" if change.action is Action.PAUSE else "resumed"
        status = status_text(change)
        return (
            ":white_check_mark:",
            f"{approved}: {endpoint_ref(change.endpoint)} was *{done}*. New status: {status}.",
        )
    if change is not None:
        return ":white_check_mark:", f"{approved}, but: {unchanged_sentence(change)}"
    return "", f"Decided by {decider}."


def decision_message(
    request: ApprovalRequest,
    state: RequestState,
    change: Change | None,
    at: datetime,
    webhook_summary: str = "",
) -> Message:
    """The request message after its decision: the story, the outcome, no Approve/Deny."""
    icon, line = _decision_outcome(request, state, change, at)
    blocks = [*_request_story(request), section(f"{icon} {line}".strip())]
    if change is not None and change.detail:
        blocks.append(context(escape(change.detail)))
    if webhook_summary:
        blocks.append(context(escape(webhook_summary)))
    if change is not None and change.hold is not None and change.hold.resume_at:
        blocks.append(auto_resume_block(change.hold, at))
    if change is not None and change.resumed is not None:
        blocks.append(section(resume_summary_line(change.resumed)))
    if change is not None:
        blocks.extend(change_buttons(change))
    return line, blocks


def already_requested_message(request: ApprovalRequest) -> str:
    return (
        f":information_source: <@{request.requester}> already asked to {request.action.value} "
        f"{request_ref(request)}; that request is waiting for an approver "
        f"(expires {when(request.expires_at)}). Nothing new was posted."
    )


def request_posted_message(request: ApprovalRequest) -> str:
    return (
        f":raising_hand: Your request to {request.action.value} {request_ref(request)} is posted "
        "in this channel. An approver must approve it; you will be told the outcome."
    )


def request_not_posted_message(request: ApprovalRequest, error: str) -> str:
    return (
        f":x: I could not post your request to {request.action.value} {request_ref(request)} "
        f"in this channel ({escape(error)}), so no approver can see it. Nothing was asked "
        "and nothing was changed; try again, or ask an approver directly."
    )


def requester_notice(request: ApprovalRequest, state: RequestState, change: Change | None) -> str:
    ref = request_ref(request)
    if state is RequestState.DENIED:
        why = f" Their reason: {reason_text(request.decision_reason)}"
        return (
            f":no_entry_sign: <@{request.decided_by}> denied your request to "
            f"{request.action.value} {ref}." + (why if request.decision_reason else "")
        )
    if state is RequestState.EXPIRED:
        return (
            f":hourglass: Your request to {request.action.value} {ref} expired "
            "before anyone decided."
        )
    if state is RequestState.OUTDATED:
        return f":information_source: Your request to {request.action.value} {ref}: {OUTDATED}"
    if change is not None and change.in_doubt:
        return (
            f":warning: <@{request.decided_by}> approved your request to "
            f"{request.action.value} {ref}, but Convoy has not confirmed it yet; the bot "
            "reports the result in the channel."
        )
    result = status_text(change) if change else "unknown"
    return (
        f":white_check_mark: <@{request.decided_by}> approved your request to "
        f"{request.action.value} {ref}. Its status is now *{result}*."
    )


def decider_notice(state: RequestState, change: Change | None) -> str:
    if state is RequestState.EXPIRED:
        return ":hourglass: This request has expired. Nothing was changed."
    if state is RequestState.DENIED:
        return ":no_entry_sign: You denied the request. Nothing was changed."
    if state is RequestState.OUTDATED:
        return f":information_source: {OUTDATED}"
    if change is not None and change.changed:
        status = status_text(change)
        return f":white_check_mark: Done: {endpoint_ref(change.endpoint)} is now *{status}*."
    if change is not None:
        return unchanged_message(change)
    return "Done."
