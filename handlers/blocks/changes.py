"""Messages about a pause or resume: the announcement, its buttons and its timer lines.

The private answers about a change (why nothing changed, which endpoint, are you sure) are
in `handlers.blocks.answers`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.change.model import Change, Outcome, ResumeSummary
from bot.durations import describe
from bot.models import Action, Endpoint, Hold
from handlers import ids
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
    relative,
    section,
    shown,
    status_word,
    when,
)
from handlers.buttons import ExtendValue, KeepValue, ResumeValue, RetryValue

EXTEND_BY = timedelta(minutes=30)


def working_note(verb: str, target: str) -> str:
    gerund = {"pause": "Pausing", "resume": "Resuming"}.get(verb, "Working on")
    return f":hourglass_flowing_sand: {gerund} *{shown(target)}*…"


def _past(action: Action) -> str:
    return "paused" if action is Action.PAUSE else "resumed"


def _credit(actor_id: str, approver_id: str) -> str:
    approved = f", approved by <@{approver_id}>" if approver_id else ""
    return f"<@{actor_id}>{approved}"


def status_text(change: Change) -> str:
    """The status last read from Convoy: never one from before a write that may have landed."""
    if change.status_now is None:
        return "unknown (it could not be read)"
    return status_word(change.status_now)


def _headline(change: Change, actor_id: str, approver_id: str) -> str:
    ref, by = endpoint_ref(change.endpoint), _credit(actor_id, approver_id)
    asked = change.action.value
    if change.settled and change.changed:
        return (
            f":white_check_mark: The {asked} of {ref} by {by} *took effect*: Convoy reports "
            f"it {status_text(change)}, read again after its answer was lost."
        )
    if change.settled:
        return (
            f":information_source: The {asked} of {ref} by {by} *did not take effect*: "
            f"read again after its answer was lost, Convoy reports it {status_text(change)}."
        )
    if change.changed:
        icon = ":double_vertical_bar:" if change.action is Action.PAUSE else ":arrow_forward:"
        return f"{icon} {ref} was *{_past(change.action)}* by {by}"
    if change.in_doubt:
        return (
            f":warning: The {asked} of {ref} by {by} is *not confirmed*: Convoy did not answer "
            "clearly and may still apply it. The bot sends nothing more, reads the status "
            "again and reports the result here."
        )
    # The write went wrong in a way that may have changed the endpoint: say so loudly.
    return (
        f":warning: The {asked} of {ref} by {by} did not go as asked. "
        f"Status now: *{status_text(change)}*. Check it and act again if needed."
    )


def change_details(change: Change, reason: str, at: datetime) -> list[Block]:
    """What follows a change's headline: status, reason, time, timer, cost, and any caveat."""
    body = (
        f"*New status:* {status_text(change)}\n*Reason:* {reason_text(reason)}\n*When:* {when(at)}"
    )
    details = [section(body)]
    if change.hold is not None and change.hold.resume_at:
        details.append(auto_resume_block(change.hold, at))
    if change.resumed is not None:
        details.append(section(resume_summary_line(change.resumed)))
    if change.detail:
        details.append(context(escape(change.detail)))
    return details


def _summary_verb(change: Change) -> str:
    past = _past(change.action)
    if change.changed:
        return past
    if change.in_doubt:
        return f"perhaps {past} (not confirmed yet)"
    return f"not {past} as asked"


def change_announcement(
    change: Change, actor_id: str, reason: str, at: datetime, approver_id: str = ""
) -> Message:
    """The record of a pause or resume that happened, or may have (no buttons)."""
    endpoint = change.endpoint
    text = (
        f"{shown(endpoint.label)} ({shown(endpoint.uid)}) was {_summary_verb(change)} by "
        f"{_credit(actor_id, approver_id)}. New status: {status_text(change)}. "
        f"Reason: {shown(reason, MAX_REASON) or 'none given'}."
    )
    headline = section(_headline(change, actor_id, approver_id))
    return text, [headline, *change_details(change, reason, at)]


def change_metadata(change: Change) -> dict[str, Any]:
    """Slack message metadata naming the action and what it left: machines read this."""
    return {
        "event_type": "convoy_endpoint_change",
        "event_payload": {
            "change_id": change.in_flight.change_id if change.in_flight else "",
            "endpoint": change.endpoint.uid,
            "action": change.action.value,
            "outcome": change.outcome.value,
            "status": change.status_now.value if change.status_now else "unknown",
            "settled": change.settled,
        },
    }


def status_only_announcement(change: Change) -> Message:
    """What a customer's webhook hears when its project says `status`: the endpoint, its new
    status and the time; no reason, no names."""
    endpoint = change.endpoint
    text = f"{escape(endpoint.label)} is now {status_text(change)}."
    return text, [section(f"{endpoint_ref(endpoint)} is now *{status_text(change)}*.")]


def bound_copy(message: Message, origin_channel: str, permalink: str) -> Message:
    """A copy for a channel bound to the project: no buttons, and where the change was made."""
    text, blocks = message
    where = f"<{permalink}|this message>" if permalink else "a message"
    line = f":link: Changed in <#{origin_channel}>, in {where}."
    kept = [b for b in blocks if b.get("type") != "actions"]
    return text, [*kept, context(line)]


def change_buttons(change: Change) -> list[Block]:
    """After a pause, Resume (and the timer's buttons); after a resume, Retry discarded."""
    found = []
    if change.outcome is Outcome.PAUSED:
        found.append(resume_actions(change.endpoint, change.hold))
    if change.resumed is not None and change.resumed.discarded:
        found.append(retry_actions(change.endpoint, change.resumed))
    return found


def channel_announcement(
    change: Change,
    actor_id: str,
    reason: str,
    at: datetime,
    webhook_summary: str,
    *,
    approver_id: str = "",
) -> Message:
    """The announcement plus the webhook result and the buttons that act on it."""
    text, blocks = change_announcement(change, actor_id, reason, at, approver_id)
    blocks = [*blocks, context(escape(webhook_summary)), *change_buttons(change)]
    return f"{text} {webhook_summary}", blocks


def resume_actions(endpoint: Endpoint, hold: Hold | None = None) -> Block:
    """Resume (now), and for a timed pause Extend and Keep paused too."""
    timed = hold is not None and bool(hold.resume_at)
    value = ResumeValue(
        uid=endpoint.uid, hold=hold.hold_id if hold else "", project=hold.project if hold else ""
    )
    buttons = [
        button(ids.RESUME_BUTTON, "Resume now" if timed else "Resume", value.encode(), "primary")
    ]
    if hold is not None and hold.resume_at:
        buttons.append(extend_button(hold))
        keep = KeepValue(uid=hold.uid, hold=hold.hold_id, project=hold.project)
        buttons.append(button(ids.KEEP_BUTTON, "Keep paused", keep.encode()))
    return actions(RESUME_BLOCK, *buttons)


def extend_button(hold: Hold) -> Block:
    value = ExtendValue(uid=hold.uid, hold=hold.hold_id, due=hold.resume_at, project=hold.project)
    return button(ids.EXTEND_BUTTON, f"Extend {describe(EXTEND_BY)}", value.encode())


def retry_actions(endpoint: Endpoint, summary: ResumeSummary) -> Block:
    value = RetryValue(
        uid=endpoint.uid,
        start=int(summary.paused_since.timestamp()),
        end=int(summary.resumed_at.timestamp()) + 1,
        project=summary.project,
    )
    return actions("retry", button(ids.RETRY_DISCARDED, "Retry discarded events", value.encode()))


def auto_resume_when(hold: Hold, now: datetime) -> str:
    due = hold.resumes_at
    if due is None:
        return "none (stays paused until someone resumes it)"
    return f"{when(due)}, in {relative(due, now)}"


def auto_resume_line(hold: Hold, now: datetime) -> str:
    return f"*Auto-resume:* {auto_resume_when(hold, now)}"


AUTO_RESUME_BLOCK = "auto-resume"  # block ids that Extend and Keep paused replace
TIMER_NOTE_BLOCK = "timer-note"
RESUME_BLOCK = "resume"


def auto_resume_block(hold: Hold, now: datetime) -> Block:
    """The timed pause's promise, in a block of its own so that it can be re-timed."""
    return {**section(auto_resume_line(hold, now)), "block_id": AUTO_RESUME_BLOCK}


def resume_summary_line(summary: ResumeSummary) -> str:
    since = "" if summary.known_start else "about "
    lasted = (
        f"Paused for {since}{describe(summary.paused_for)} (since {when(summary.paused_since)})."
    )
    if summary.discarded is None:
        return (
            f"{lasted} Convoy could not say how many deliveries it discarded meanwhile: "
            f"{escape(summary.problem)}"
        )
    if summary.discarded == 0:
        return f"{lasted} Convoy discarded no event deliveries meanwhile."
    many = f"{summary.discarded}" if summary.counted_all else f"more than {summary.discarded}"
    return (
        f"{lasted} Convoy *discarded {many} event deliveries* meanwhile; "
        "an operator can send them again with *Retry discarded events*."
    )
