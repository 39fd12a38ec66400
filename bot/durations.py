"""Durations as people type them: `90s`, `30m`, `30min`, `30 minutes`, `1h`, `1 hour`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
}
_PART = re.compile(r"(\d+)\s*([a-z]+)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d+\s*[a-z]+\s*)+$", re.IGNORECASE)
_WORD = re.compile(r"\S+")


def parse_duration(text: str) -> timedelta | None:
    """A positive duration from text such as `30m` or `1 hour 30 minutes`; None otherwise."""
    if not _WHOLE.match(text):
        return None
    seconds = 0
    for number, unit in _PART.findall(text):
        scale = _UNIT_SECONDS.get(unit.lower())
        if scale is None:
            return None
        seconds += int(number) * scale
    return timedelta(seconds=seconds) if seconds > 0 else None


def take_duration(text: str) -> tuple[timedelta | None, str]:
    """The longest run of leading words of `text` that is a duration, and the text after it
    (as typed: newlines in a reason stay); (None, text) when it does not start with one."""
    words = list(_WORD.finditer(text))
    for count in range(min(len(words), 6), 0, -1):
        end = words[count - 1].end()
        duration = parse_duration(text[:end])
        if duration is not None:
            return duration, text[end:].strip()
    return None, text


def looks_like_a_duration(word: str) -> bool:
    """A word a person means as a length of time (it starts with a number)."""
    return word[:1].isdigit()


def describe(duration: timedelta) -> str:
    """`1h 30m`-style text for a duration."""
    total = int(duration.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds}s" if seconds else "",
    ]
    return " ".join(p for p in parts if p) or "0s"
