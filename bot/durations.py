"""Durations as people type them: `90s`, `30m`, `2h` (also `1h30m`)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*([smh])", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*(?:\d+\s*[smh]\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str) -> timedelta | None:
    """A positive duration from `30m`-style text, or None when the text is not one."""
    if not _WHOLE.match(text):
        return None
    seconds = sum(int(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _PART.findall(text))
    return timedelta(seconds=seconds) if seconds > 0 else None


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
