"""The watcher's failing card: what fails, how badly, and the fix one click away; and the
lines it is updated with when its episode ends."""

from __future__ import annotations

from datetime import datetime

from bot.watch_rules import EventKind, WatchEvent
from handlers import ids
from handlers.blocks.kit import (
    Message,
    actions,
    button,
    endpoint_ref,
    escape,
    section,
    shown,
    status_word,
    when,
)
from handlers.buttons import CardValue

CARD_ACTIONS = "convoy_watch_card"


def failing_card(event: WatchEvent, scope: str, card_id: str, at: datetime) -> Message:
    """A new failing episode, with Pause, Pause 30m and Snooze 1h."""
    endpoint = event.endpoint
    text = f"{shown(endpoint.label)} is failing: failure rate {event.rate.describe()}"
    story = (
        f":rotating_light: {endpoint_ref(endpoint)} is *failing*\n"
        f"Failure rate: {escape(event.rate.describe())} · Status: {status_word(endpoint.status)}"
        f" · Host: `{escape(endpoint.url_host)}`\nSince {when(at)}"
    )
    value = CardValue(project=scope, uid=endpoint.uid, card=card_id).encode()
    buttons = actions(
        CARD_ACTIONS,
        button(ids.WATCH_PAUSE, "Pause", value, "danger"),
        button(ids.WATCH_PAUSE_30M, "Pause 30m", value),
        button(ids.WATCH_SNOOZE, "Snooze 1h", value),
    )
    return text, [section(story), buttons]


def ended_line(event: WatchEvent, at: datetime) -> str:
    """What the card says once its episode is over."""
    if event.kind is EventKind.RECOVERED:
        return (
            f":white_check_mark: Recovered at {when(at)}: failure rate "
            f"{escape(event.rate.describe())}."
        )
    return (
        f":information_source: No longer failing at {when(at)}: the endpoint is "
        f"*{status_word(event.endpoint.status)}*."
    )


def paused_from_card_line(user_id: str, minutes: int | None, at: datetime) -> str:
    timed = f" for {minutes}m" if minutes else ""
    return (
        f":double_vertical_bar: Paused{timed} from this card by <@{escape(user_id)}> at {when(at)}."
    )


def asked_from_card_line(user_id: str, at: datetime) -> str:
    return f":raising_hand: <@{escape(user_id)}> asked to pause it from this card at {when(at)}."


def snoozed_line(user_id: str, until: datetime) -> str:
    return f":no_bell: Snoozed by <@{escape(user_id)}> until {when(until)}: no new card till then."
