"""The watcher's failing card: what fails, how badly, and the fix one click away; and the
lines it is updated with when its episode ends."""

from __future__ import annotations

from datetime import datetime

from bot.durations import describe
from bot.watch.actions import OFF
from bot.watch.round import Trouble
from bot.watch.rules import EventKind, WatchEvent
from bot.watch.store import Seen
from bot.watch.view import WatchOverview
from handlers import ids
from handlers.blocks.kit import (
    Message,
    actions,
    button,
    endpoint_ref,
    escape,
    section,
    sections,
    shown,
    status_word,
    when,
)
from handlers.buttons import CardValue

CARD_ACTIONS = "convoy_watch_card"
SOURCES = {
    "circuit breaker": "circuit breaker",
    "deliveries": (
        "deliveries (Convoy's circuit breaker sends no rates, so the share of failed "
        "deliveries in the last 15 minutes, asked every 5 minutes)"
    ),
    "": (
        "none (Convoy's circuit breaker sends no rates, and no endpoint had deliveries to "
        "count), so only changes of status are seen"
    ),
}


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
        f":information_source: Over at {when(at)}: the endpoint is "
        f"*{status_word(event.endpoint.status)}* now."
    )


def paused_from_card_line(user_id: str, minutes: int | None, at: datetime) -> str:
    timed = f" for {minutes}m" if minutes else ""
    return (
        f":double_vertical_bar: Paused{timed} from this card by <@{escape(user_id)}> at {when(at)}."
    )


def asked_from_card_line(user_id: str, at: datetime) -> str:
    return f":raising_hand: <@{escape(user_id)}> asked to pause it from this card at {when(at)}."


def already_paused_card_line(user_id: str, at: datetime) -> str:
    return (
        f":double_vertical_bar: Already paused when <@{escape(user_id)}> clicked Pause at "
        f"{when(at)}."
    )


def unsettled_card_line(user_id: str, at: datetime) -> str:
    return (
        f":hourglass: <@{escape(user_id)}> clicked Pause at {when(at)}; Convoy has not "
        "confirmed it yet: the channel hears when it does."
    )


def snoozed_line(user_id: str, until: datetime) -> str:
    return f":no_bell: Snoozed by <@{escape(user_id)}> until {when(until)}: no new card till then."


def disabled_card(event: WatchEvent, scope: str, card_id: str, at: datetime) -> Message:
    """Convoy disabled the endpoint: what it was, and Re-enable (which asks to confirm)."""
    endpoint = event.endpoint
    text = f"{shown(endpoint.label)} was disabled by Convoy"
    story = (
        f":red_circle: {endpoint_ref(endpoint)} was *disabled by Convoy* (it was "
        f"{escape(event.was or 'unknown')}) at {when(at)}\n"
        f"Failure rate: {escape(event.rate.describe())} · Host: `{escape(endpoint.url_host)}`\n"
        "Convoy sends it nothing until it is re-enabled."
    )
    value = CardValue(project=scope, uid=endpoint.uid, card=card_id).encode()
    buttons = actions(CARD_ACTIONS, button(ids.WATCH_REENABLE, "Re-enable", value, "primary"))
    return text, [section(story), buttons]


def outside_note(events: list[WatchEvent], at: datetime) -> Message:
    """Changes of status nobody made through the bot, seen in one poll: one message (a
    channel takes about one post a second), a line each."""
    lines, said = [], []
    for event in events:
        endpoint = event.endpoint
        if event.kind is EventKind.DELETED:
            what = "was *deleted* in Convoy"
        else:
            what = (
                f"was *{status_word(endpoint.status)}* outside the bot (it was "
                f"{escape(event.was or 'unknown')})"
            )
        lines.append(f":information_source: {endpoint_ref(endpoint)} {what}")
        said.append(f"{shown(endpoint.label)} {what.replace('*', '')}")
    return "; ".join(said), sections(f"Seen at {when(at)}:", lines)[1]


def outside_line(event: WatchEvent, at: datetime) -> str:
    """What a card, or the bot's own pause announcement, says once a person (or Convoy)
    changed the endpoint outside the bot."""
    if event.kind is EventKind.DELETED:
        return f":information_source: The endpoint was deleted in Convoy (seen at {when(at)})."
    return (
        f":information_source: *{status_word(event.endpoint.status)}* outside the bot "
        f"(seen at {when(at)}): this no longer holds."
    )


def watch_message(overview: WatchOverview) -> Message:
    """`/convoy watch`: what is watched in this channel's project, and how."""
    rules = overview.rules
    if overview.channels:
        where = ", ".join(f"<#{escape(c)}>" for c in overview.channels)
        every = describe(rules.interval)
        head = f":eyes: This project is *watched* every {every}; cards go to {where}."
    else:
        head = ":eyes: This project is *not watched*: no channel is bound to it (`/convoy bind`)."
    lines = [
        f"A failing card at a failure rate of {rules.thresholds.alert:g}% or more, or with the "
        f"circuit breaker open; its episode ends under {rules.thresholds.recovered:g}%.",
        *_health_lines(overview),
        "*Failing now:*",
        *(
            [
                f"• *{shown(s.name or uid)}* (`{shown(uid)}`): {_rate(s)}"
                for uid, s in overview.failing.items()
            ]
            or ["none"]
        ),
    ]
    if overview.snoozed:
        lines.append("*Snoozed or not watched:*")
        lines += [
            f"• `{shown(uid)}` " + ("not watched" if until >= OFF else f"until {when(until)}")
            for uid, until in overview.snoozed.items()
        ]
    return sections(head, lines)


def _health_lines(overview: WatchOverview) -> list[str]:
    health, last = overview.health, overview.last_poll
    if health is None or last is None:
        return ["Not polled yet."]
    source = SOURCES.get(health.source, escape(health.source))
    lines = [f"Failure rates from: {source}."]
    if health.problem:
        lines.append(
            f":warning: The last poll ({when(last)}) failed, {health.failures} in a row: "
            f"{escape(health.problem)}"
        )
    else:
        lines.append(f"Last poll: {when(last)}, {health.endpoints} endpoint(s).")
    return lines


def _rate(seen: Seen) -> str:
    return "rate unknown" if seen.rate is None else f"{seen.rate:.1f}%"


def watch_trouble_message(trouble: Trouble, at: datetime) -> Message:
    """The watch of this channel's project stopped working, or works again."""
    if not trouble.problem:
        text = "The watch works again: failing endpoints and changes outside the bot are seen."
        return text, [section(f":white_check_mark: {text} ({when(at)})")]
    text = (
        f"The watch stopped working ({trouble.failures} polls in a row failed): "
        f"{trouble.problem} Until it works again, failing endpoints and changes made outside "
        "the bot are not seen here."
    )
    return text, [section(f":warning: {escape(text)}")]


def digest_entry(event: WatchEvent) -> tuple[str, str]:
    """An endpoint's reference in a digest, and its state there now."""
    endpoint = event.endpoint
    state = (
        f":rotating_light: failing, {escape(event.rate.describe())} · `{escape(endpoint.url_host)}`"
    )
    return endpoint_ref(endpoint), state


def digest_message(refs: dict[str, str], states: dict[str, str], at: datetime) -> Message:
    """Many endpoints failing at once (a shared downstream, most likely): one message, a
    line each, each line rewritten when its episode ends."""
    head = (
        f":rotating_light: *{len(refs)} endpoints started failing* at {when(at)}, in one "
        "poll: a shared downstream, most likely. Pause one with `/convoy pause <name>`; "
        "each line says when its endpoint's episode ends."
    )
    lines = [f"• {ref} — {states.get(uid, '')}" for uid, ref in refs.items()]
    text = f"{len(refs)} endpoints started failing"
    return text, sections(head, lines)[1]


def tuned_line(user_id: str, until: datetime | None) -> str:
    """What `/convoy watch snooze|off|on` did, as its card and its caller read it."""
    if until is None:
        return f":eyes: Watched again, by <@{escape(user_id)}>."
    if until >= OFF:
        return f":no_bell: Not watched any more (<@{escape(user_id)}>): no card until `watch on`."
    return snoozed_line(user_id, until)
