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
# Longer than any limit the bot sets (a pause, a snooze, an audit window), and far from
# timedelta's own limit: a duration typed longer than this is read as this, so the caller
# says "at most <its limit>" instead of overflowing (`for 1000000000d`).
LONGEST = timedelta(days=36500)
_MOST_DIGITS = len(str(int(LONGEST.total_seconds())))
_PART = re.compile(r"(\d+)\s*([a-z]+)", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d+\s*[a-z]+\s*)+$", re.IGNORECASE)
_WORD = re.compile(r"\S+")
_LONGEST_SECONDS = int(LONGEST.total_seconds())


def parse_duration(text: str) -> timedelta | None:
    """A positive duration from text such as `30m` or `1 hour 30 minutes`; None otherwise.
    Never raises: one longer than LONGEST is LONGEST, for the caller's "at most" to refuse."""
    if not _WHOLE.match(text):
        return None
    seconds = 0
    for number, unit in _PART.findall(text):
        scale = _UNIT_SECONDS.get(unit.lower())
        if scale is None:
            return None
        digits = number.lstrip("0") or "0"
        # A number of more digits than LONGEST's seconds is longer still (and int() of
        # thousands of digits is refused by Python itself).
        seconds += int(digits) * scale if len(digits) <= _MOST_DIGITS else _LONGEST_SECONDS
        seconds = min(seconds, _LONGEST_SECONDS)
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
