"""Pure parsing of `/convoy` text into a Command (SPEC §3)."""

from __future__ import annotations

from dataclasses import dataclass

VERBS = ("help", "status", "list", "pause", "resume", "roles")
NEEDS_ENDPOINT = ("status", "pause", "resume")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u201d": "\u201d"}


@dataclass(frozen=True)
class Command:
    """One parsed `/convoy` invocation; text fields hold what the user typed, unescaped."""

    verb: str
    target: str = ""
    rest: str = ""
    problem: str = ""  # why the text could not be understood, when it could not

    @property
    def valid(self) -> bool:
        return not self.problem


def slack_unescape(text: str) -> str:
    """Undo Slack's escaping of the three control characters in slash-command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def parse(raw_text: str) -> Command:
    """Parse slash-command text as Slack sends it; never raises."""
    head, tail = _first_word(slack_unescape(raw_text).strip())
    verb = head.lower()
    if verb in ("", "help"):
        return Command("help")
    if verb not in VERBS:
        return Command("help", problem=f"Unknown command `{head[:40]}`.")
    if verb not in NEEDS_ENDPOINT:
        return Command(verb, rest=tail)
    target, rest, problem = _split_target(tail)
    if problem:
        return Command(verb, problem=problem)
    if not target:
        return Command(verb, problem=f"Say which endpoint: `/convoy {verb} <endpoint>`.")
    return Command(verb, target=target, rest=rest)


def _split_target(text: str) -> tuple[str, str, str]:
    """(endpoint, remainder, problem): a quoted name, or the first word."""
    if not text:
        return "", "", ""
    closing = _QUOTES.get(text[0])
    if closing is not None:
        end = text.find(closing, 1)
        if end == -1:
            return "", "", "The endpoint name's opening quote is never closed."
        name = text[1:end].strip()
        if not name:
            return "", "", "The quoted endpoint name is empty."
        return name, text[end + 1 :].strip(), ""
    word, rest = _first_word(text)
    return word, rest, ""


def _first_word(text: str) -> tuple[str, str]:
    """Split at the first run of whitespace (spaces or newlines)."""
    parts = text.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")
