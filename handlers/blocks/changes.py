"""Messages about a pause or resume: the announcement, its buttons, and the private answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.changes import Change, Outcome, ResumeSummary
from bot.durations import describe
from bot.models import Action, Endpoint, Hold
from bot.results import Choice, NeedsConfirmation, RecordGone
from handlers import ids
from handlers.blocks.kit import (
    MAX_REASON,
    SECTION_LIMIT,
    Block,
    Message,
    actions,
    button,
    context,
    cut,
    endpoint_ref,
    escape,
    reason_text,
    relative,
    section,
    shown,
    status_word,
    when,
)
from handlers.buttons import ExtendValue, KeepValue, QuestionValue, ResumeValue, RetryValue

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


def unchanged_sentence(change: Change) -> str:
    """Why a pause or resume changed nothing (or nothing as asked), without an icon."""
    ref = endpoint_ref(change.endpoint)
    status = status_text(change)
    detail = f" {escape(change.detail)}" if change.detail else ""
    match change.outcome:
        case Outcome.ALREADY_PAUSED:
            return f"{ref} is already paused. Nothing was changed."
        case Outcome.ALREADY_ACTIVE:
            return f"{ref} is already active. Nothing was changed."
        case Outcome.INACTIVE if change.action is Action.PAUSE:
            return (
                f"{ref} is *{status}*: Convoy disabled it after repeated delivery "
                "failures, so it cannot be paused (it receives nothing already). "
                "Nothing was changed."
            )
        case Outcome.INACTIVE:
            return (
                f"{ref} is *{status}*, not paused: Convoy disabled it after "
                "repeated delivery failures. Re-enabling it needs an explicit confirmation. "
                "Nothing was changed."
            )
        case Outcome.NOT_CHANGED:
            return f"The {change.action.value} of {ref} did not take effect.{detail}"
        case Outcome.UNCONFIRMED:
            return f"The {change.action.value} of {ref} is not confirmed yet.{detail}"
        case Outcome.MOVED_ON:
            return (
                f"{ref} is *{status}* now, not inactive as when re-enabling was offered: a "
                "paused endpoint is resumed with Resume, by whoever owns that pause. "
                "Nothing was changed."
            )
        case _:
            return f"{ref} is now *{status}*, not what was asked.{detail}"


_UNCHANGED_ICON = {
    Outcome.ALREADY_PAUSED: ":information_source:",
    Outcome.ALREADY_ACTIVE: ":information_source:",
    Outcome.INACTIVE: ":no_entry:",
    Outcome.MOVED_ON: ":no_entry:",
    Outcome.NOT_CHANGED: ":x:",
}


def unchanged_message(change: Change) -> str:
    """Private explanation when a pause or resume changed nothing."""
    icon = _UNCHANGED_ICON.get(change.outcome, ":warning:")
    return f"{icon} {unchanged_sentence(change)}"


def not_posted_message(text: str, error: str) -> str:
    return (
        f":warning: The change stands, but I could not post it in the channel "
        f"({escape(error)}). What happened: {cut(text, SECTION_LIMIT // 2)}"
    )


def choice_message(choice: Choice) -> Message:
    """One button per candidate; the value names the stored question and the endpoint."""
    candidates = choice.candidates
    text = (
        f"Several endpoints match '{shown(candidates.query)}'. "
        f"Which one do you want to {choice.verb.value}?"
    )
    buttons = [
        button(
            f"{ids.PICK_ENDPOINT}_{index}",
            f"{cut(e.label, 60)} ({status_word(e.status)})",
            QuestionValue(question_id=choice.choice_id, uid=e.uid, project=choice.scope).encode(),
        )
        for index, e in enumerate(candidates.endpoints)
    ]
    return text, [section(text), actions("pick", *buttons)]


def record_gone_message(gone: RecordGone) -> Message:
    """The button's pause has no record, but Convoy says it is still paused: offer a resume."""
    endpoint = gone.endpoint
    timer = (
        " No auto-resume will come: it stays paused until someone resumes it."
        if gone.timer_lost
        else ""
    )
    text = (
        f":warning: The bot has no record of the pause this button was made for (its store "
        f"lost it), but Convoy reports {endpoint_ref(endpoint)} still *paused*.{timer} "
        "Resume it now?"
    )
    offer = button(
        f"{ids.PICK_ENDPOINT}_0",
        f"Resume {cut(endpoint.label, 60)}",
        QuestionValue(question_id=gone.choice_id, uid=endpoint.uid, project=gone.scope).encode(),
        "primary",
    )
    return text, [section(text), actions("pick", offer)]


def confirmation_message(asked: NeedsConfirmation) -> Message:
    """'Are you sure?' before re-enabling an endpoint that Convoy disabled."""
    endpoint = asked.endpoint
    text = (
        f":warning: {endpoint_ref(endpoint)} is *inactive*: Convoy disabled it after repeated "
        "delivery failures. Resuming it re-enables traffic that Convoy cut off, and the "
        "receiver may still be failing. Confirm only if the receiver is fixed."
    )
    confirm = button(
        ids.CONFIRM_REENABLE,
        f"Re-enable {cut(endpoint.label, 50)}",
        QuestionValue(
            question_id=asked.confirmation_id, uid=endpoint.uid, project=asked.scope
        ).encode(),
        "danger",
    )
    confirm["confirm"] = {
        "title": {"type": "plain_text", "text": "Re-enable endpoint?"},
        "text": {"type": "mrkdwn", "text": "Convoy will start delivering events to it again."},
        "confirm": {"type": "plain_text", "text": "Re-enable"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return text, [section(text), actions("confirm", confirm)]
