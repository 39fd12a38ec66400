"""Private answers about a change: why nothing changed, which endpoint was meant, whether to
re-enable one Convoy disabled, and a change the channel could not be told of."""

from __future__ import annotations

from bot.change.model import Change, Outcome
from bot.commands.results import Choice, NeedsConfirmation, RecordGone
from bot.models import Action
from handlers import ids
from handlers.blocks.changes import status_text
from handlers.blocks.kit import (
    SECTION_LIMIT,
    Message,
    actions,
    button,
    cut,
    endpoint_ref,
    escape,
    section,
    shown,
    status_word,
)
from handlers.buttons import QuestionValue


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
