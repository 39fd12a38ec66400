"""Messages of timed pauses: the auto-resume report, reminders, and `/convoy paused`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.change.model import Change
from bot.commands.discarded import Retried, RetrySettled
from bot.commands.paused_list import HeldPause
from bot.models import Hold
from handlers.blocks.changes import (
    AUTO_RESUME_BLOCK,
    RESUME_BLOCK,
    TIMER_NOTE_BLOCK,
    auto_resume_block,
    auto_resume_line,
    auto_resume_when,
    change_details,
    extend_button,
    resume_actions,
)
from handlers.blocks.kit import (
    Block,
    Message,
    actions,
    context,
    endpoint_ref,
    escape,
    reason_text,
    relative,
    section,
    sections,
    shown,
    stamp,
    when,
)


def auto_resumed_message(hold: Hold, change: Change, at: datetime) -> Message:
    """The channel record of a timer that resumed an endpoint."""
    headline = (
        f":alarm_clock: {endpoint_ref(change.endpoint)} was *resumed automatically*: the "
        f"timed pause by <@{escape(hold.actor)}> ended."
    )
    text = f"{shown(change.endpoint.label)} was resumed automatically: the timed pause ended."
    return text, [section(headline), *change_details(change, hold.reason, at)]


def auto_resume_skipped_message(hold: Hold, why: str) -> str:
    return (
        f":information_source: The timed pause of {endpoint_ref(hold.endpoint)} "
        f"by <@{escape(hold.actor)}> ran out, but the bot did not resume it: {escape(why)}. "
        "Check it with `/convoy status`."
    )


def auto_resume_failed_message(hold: Hold, why: str, retry_at: datetime, attempt: int) -> str:
    """An auto-resume that failed: said once per failure, with when the next try comes."""
    return (
        f":warning: The auto-resume of {endpoint_ref(hold.endpoint)} failed (attempt "
        f"{attempt}): {escape(why)} It is still paused, and Convoy discards its events "
        f"meanwhile. The bot tries again at {when(retry_at)}, and keeps trying until it "
        "works or someone resumes it or clicks *Keep paused*."
    )


def reminder_message(hold: Hold, now: datetime, note: str = "") -> Message:
    """The reminder before an auto-resume; re-drawn when the pause is extended or kept."""
    due = hold.resumes_at
    if due is None:
        text = (
            f":pushpin: *{shown(hold.name)}* will not be resumed automatically: it stays "
            "paused until someone resumes it."
        )
        blocks = [section(text)]
    else:
        text = (
            f":alarm_clock: *{shown(hold.name)}* resumes automatically in {relative(due, now)} "
            f"({when(due)}). Extend the pause if the receiver is not ready."
        )
        blocks = [section(text), actions("remind", extend_button(hold))]
    if note:
        blocks.append(timer_note(note))
    return text, blocks


def timer_note(line: str) -> Block:
    """Who last moved or cancelled the timer (mrkdwn of our own making)."""
    return {**context(line), "block_id": TIMER_NOTE_BLOCK}


def retimed(message_blocks: Sequence[Block], hold: Hold, now: datetime, note: str) -> list[Block]:
    """A pause's announcement (as posted) with its timer, its note and its buttons re-drawn
    for the hold as it is now: blocks replaced in place by id, never text edited."""
    timer = [auto_resume_block(hold, now), timer_note(note)]
    buttons = resume_actions(hold.endpoint, hold)
    redrawn: list[Block] = []
    for block in message_blocks:
        block_id = block.get("block_id")
        if block_id == AUTO_RESUME_BLOCK:
            redrawn += timer
            timer = []
        elif block_id == RESUME_BLOCK:
            redrawn += [*timer, buttons]  # a message from before timers had their own block
            timer = []
        elif block_id != TIMER_NOTE_BLOCK:
            redrawn.append(block)
    return redrawn + timer


def paused_message(entries: Sequence[HeldPause], now: datetime) -> Message:
    """What `/convoy paused` shows: the bot's pauses, with stale ones marked and dropped."""
    if not entries:
        text = "The bot holds no paused endpoints."
        return text, [section(text)]
    lines = []
    for entry in entries:
        hold = entry.hold
        who = f"<@{escape(hold.actor)}>" + (
            f" (approved by <@{escape(hold.approver)}>)" if hold.approver else ""
        )
        line = (
            f"• {endpoint_ref(hold.endpoint)} paused by {who} "
            f"{when(hold.paused_since)} — {reason_text(hold.reason)}"
        )
        if entry.stale:
            line += " — _no longer paused in Convoy (resumed outside the bot); removed_"
        else:
            line += f" — Auto-resume: {auto_resume_when(hold, now)}"
        lines.append(line)
    header = f"*Paused by the bot* ({sum(not e.stale for e in entries)})"
    return sections(header, lines)


def extended_line(user_id: str, hold: Hold, now: datetime) -> str:
    return f":alarm_clock: <@{user_id}> extended the pause. {auto_resume_line(hold, now)}"


def kept_line(user_id: str) -> str:
    return (
        f":pushpin: <@{user_id}> cancelled the auto-resume: "
        "it stays paused until someone resumes it."
    )


def resumed_line(user_id: str, at: datetime) -> str:
    return f":arrow_forward: Resumed by <@{user_id}> at {stamp(at)}"


def retried_line(user_id: str, retried: Retried) -> str:
    if retried.confirmed:
        return f":repeat: <@{user_id}> asked Convoy to retry {retried.count} discarded deliveries."
    return (
        f":warning: <@{user_id}> asked Convoy to retry {retried.count} discarded deliveries; "
        "Convoy has not confirmed it yet, so the bot will not send it again."
    )


def retried_notice(retried: Retried) -> str:
    if retried.confirmed:
        return f":repeat: Convoy is retrying {retried.count} discarded event deliveries."
    return (
        f":warning: The retry of {retried.count} discarded deliveries is not confirmed: "
        f"{escape(retried.problem)} Convoy may still be retrying them, so the bot sends "
        "nothing more; it counts them again shortly and tells you."
    )


def retry_settled_notice(retried: Retried, settled: RetrySettled) -> str:
    if settled.took:
        return (
            f":repeat: Convoy took the retry: {settled.remaining} of {retried.count} "
            "deliveries are still discarded."
        )
    return (
        f":x: Convoy did not take the retry: all {settled.remaining} deliveries are still "
        "discarded. Nothing was retried; the button works again."
    )
