"""Pure parsing of `/convoy` text into a Command (SPEC §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.access.role_admin import not_a_subject
from bot.durations import looks_like_a_duration, take_duration

VERBS = (
    "help",
    "status",
    "list",
    "pause",
    "resume",
    "roles",
    "audit",
    "paused",
    "projects",
    "bind",
    "unbind",
    "watch",
)
NEEDS_ENDPOINT = ("status", "pause", "resume")
_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "\u201d": "\u201d"}


@dataclass(frozen=True)
class Command:
    """One parsed `/convoy` invocation; text fields hold what the user typed, unescaped."""

    verb: str
    target: str = ""
    rest: str = ""
    problem: str = ""  # why the text could not be understood, when it could not
    duration: timedelta | None = None  # `pause X for 30m` / `--for 30m`

    @property
    def valid(self) -> bool:
        return not self.problem


def slack_unescape(text: str) -> str:
    """Undo Slack's escaping of the three control characters in slash-command text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_PROJECT_FLAG = re.compile(r"(?:^|\s)(?:--project|-p)(?:\s+|=)(\S*)")
_LEADING_PROJECT_FLAG = re.compile(r"\s*(?:--project|-p)(?:\s+|=)(\S*)")
_LEADING_FOR = re.compile(r"\s*(?:--for(?:\s+|=)|for\s+)")
_WORD_AT = re.compile(r"\s*(\S+)")
REASON_VERBS = ("pause", "resume")


def take_project(raw_text: str) -> tuple[str, str]:
    """(the project named with `--project ALIAS` or `-p ALIAS`, the text without it).

    The flag may stand anywhere before a reason begins, so a command reads naturally in an
    incident channel: `/convoy -p payments pause orders-api receiver down`, `/convoy pause
    orders-api -p payments for 30m receiver down`. A reason is free text, taken word for
    word: `-p` in it (`kubectl logs -p shows OOMKilled`) is part of the reason, never the
    flag (see `projects_in_reason`). Other commands have no reason: the flag may stand
    anywhere."""
    text = raw_text  # still as Slack escaped it: `parse` unescapes once
    flag, start, end = _project_flag(text)
    if flag is None:
        return "", text
    return flag, (text[:start] + " " + text[end:]).strip()


def projects_in_reason(reason: str) -> list[str]:
    """The aliases a reason names after `-p` or `--project`: a careful bot asks before acting
    when one of them is a project other than the one it would act on."""
    return [found.group(1) for found in _PROJECT_FLAG.finditer(reason) if found.group(1)]


def _project_flag(text: str) -> tuple[str | None, int, int]:
    """The first project flag before the reason (or anywhere, for a verb without one), with
    where it starts and ends in `text`."""
    position = 0
    flag = _flag_at(text, position)
    if flag is not None:
        return flag
    verb = _WORD_AT.match(text, position)
    if verb is None:
        return None, 0, 0
    if slack_unescape(verb.group(1)).lower() not in REASON_VERBS:
        found = _PROJECT_FLAG.search(text)
        return (found.group(1), found.start(), found.end()) if found else (None, 0, 0)
    position = verb.end()
    flag = _flag_at(text, position)
    if flag is not None:
        return flag
    position = _end_of_target(text, position)
    flag = _flag_at(text, position)
    if flag is not None:
        return flag
    timed = _LEADING_FOR.match(text, position)
    if timed is not None and slack_unescape(verb.group(1)).lower() == "pause":
        duration, after = take_duration(text[timed.end() :])
        if duration is not None:
            return _flag_at(text, len(text) - len(after)) or (None, 0, 0)
    return None, 0, 0


def _flag_at(text: str, position: int) -> tuple[str, int, int] | None:
    found = _LEADING_PROJECT_FLAG.match(text, position)
    return (found.group(1), found.start(), found.end()) if found else None


def _end_of_target(text: str, position: int) -> int:
    """Where the endpoint named at `position` ends: after its closing quote, or its word."""
    stripped = len(text) - len(text[position:].lstrip())
    closing = _QUOTES.get(text[stripped : stripped + 1])
    if closing is not None:
        end = text.find(closing, stripped + 1)
        return end + 1 if end != -1 else len(text)
    word = _WORD_AT.match(text, position)
    return word.end() if word else len(text)


_NOTIFY_FLAG = re.compile(r"(?:^|\s)--notify(?:\s+|=)(\S*)")
_USER_GROUP = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|[^<>]*)?>$")


def take_notify(text: str) -> tuple[str, str, str]:
    """(the user group id of `--notify @group`, the text without it, a problem): Slack sends
    a group picked with @ as `<!subteam^S…|@name>`; anything else cannot be mentioned."""
    found = _NOTIFY_FLAG.search(text)
    if found is None:
        return "", text, ""
    rest = (text[: found.start()] + " " + text[found.end() :]).strip()
    group = _USER_GROUP.match(found.group(1))
    if group is None:
        return (
            "",
            rest,
            (
                "`--notify` takes a Slack user group picked with @ (as `--notify @oncall`), so "
                "that Slack sends it as a mention. Nothing was changed."
            ),
        )
    return group.group(1), rest, ""


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
    if verb != "pause":
        return Command(verb, target=target, rest=rest)
    duration, reason, problem = _split_duration(rest)
    if problem:
        return Command(verb, problem=problem)
    return Command(verb, target=target, rest=reason, duration=duration)


def _split_duration(text: str) -> tuple[timedelta | None, str, str]:
    """(duration, reason, problem): `for 30m …` first, or `--for 30m` anywhere.

    After `for`, a word starting with a number is meant as a duration: one the bot does not
    understand is a problem, never silently part of the reason ("for the incident" is a
    reason)."""
    flag = _FOR_FLAG.search(text)
    if flag:
        duration, after = take_duration(text[flag.end() :])
        if duration is None:
            given = after.split(maxsplit=1)[0][:20] if after else ""
            return None, "", f"`--for {given}` is not a duration; try `--for 30m`."
        return duration, (text[: flag.start()] + " " + after).strip(), ""
    head, tail = _first_word(text)
    if head.lower() != "for" or not tail:
        return None, text, ""
    duration, reason = take_duration(tail)
    if duration is not None:
        return duration, reason, ""
    word = tail.split(maxsplit=1)[0]
    if looks_like_a_duration(word):
        number = re.match(r"\d+", word)
        suggestion = f"for {number.group() if number else '30'}m"
        return (
            None,
            "",
            (
                f"`for {word[:20]}` is not a duration I understand. Did you mean `{suggestion}`? "
                "Durations look like `30m`, `30 minutes`, `1h`, `1 hour` or `1h30m`. "
                "Nothing was changed."
            ),
        )
    return None, text, ""


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


_FOR_FLAG = re.compile(r"(?:^|\s)--for(?:\s+|=)")
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^([UW][A-Z0-9]+)$")
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>$|^(S[A-Z0-9]+)$")
_LIMIT = re.compile(r"(?:^|\s)--limit(?:\s+|=)(\S*)")
DEFAULT_AUDIT_LIMIT = 10


@dataclass(frozen=True)
class RolesCommand:
    """`/convoy roles grant|revoke|list …`, with the subject as a bare user or group id."""

    action: str
    subject: str = ""
    role: str = ""
    project: str = "*"
    problem: str = ""


ROLES_USAGE = (
    "Usage: `/convoy roles grant @user|@group <role> [project]`, "
    "`/convoy roles revoke @user|@group [project]`, `/convoy roles list [project]`."
)


def parse_subject(text: str) -> str:
    """A Slack user or user group id from a mention or a bare id; "" if it is neither."""
    for pattern in (_USER, _GROUP):
        match = pattern.match(text.strip())
        if match:
            return match.group(1) or match.group(2)
    return ""


def parse_roles(text: str) -> RolesCommand:
    """Parse what follows `/convoy roles`; never raises."""
    words = text.split()
    if not words or words[0].lower() not in ("grant", "revoke", "list"):
        return RolesCommand("", problem=ROLES_USAGE)
    action, args = words[0].lower(), words[1:]
    if action == "list":
        if len(args) > 1:
            return RolesCommand(action, problem=ROLES_USAGE)
        return RolesCommand(action, project=args[0] if args else "*")
    wanted = 2 if action == "grant" else 1
    if not wanted <= len(args) <= wanted + 1:
        return RolesCommand(action, problem=ROLES_USAGE)
    subject = parse_subject(args[0])
    if not subject:
        return RolesCommand(action, problem=f"{not_a_subject(args[0])} {ROLES_USAGE}")
    project = args[wanted] if len(args) > wanted else "*"
    role = args[1] if action == "grant" else ""
    return RolesCommand(action, subject, role, project)


@dataclass(frozen=True)
class AuditQuery:
    """`/convoy audit [endpoint] [--limit N]`."""

    endpoint: str = ""
    limit: int = DEFAULT_AUDIT_LIMIT
    problem: str = ""


def parse_audit(text: str) -> AuditQuery:
    """Parse what follows `/convoy audit`; never raises."""
    limit = DEFAULT_AUDIT_LIMIT
    match = _LIMIT.search(text)
    if match:
        if not match.group(1).isdigit() or int(match.group(1)) < 1:
            return AuditQuery(problem="`--limit` takes a whole number, for example `--limit 20`.")
        limit = int(match.group(1))
        text = text[: match.start()] + " " + text[match.end() :]
    name, _, problem = _split_target(text.strip())
    return AuditQuery(name, limit, problem)


WATCH_USAGE = (
    "`/convoy watch`, `/convoy watch snooze <endpoint> <duration>`, "
    "`/convoy watch off <endpoint>` or `/convoy watch on <endpoint>`"
)


@dataclass(frozen=True)
class WatchCommand:
    """`/convoy watch [snooze|off|on …]`: show the watch, or tune it for one endpoint."""

    action: str  # "show", "snooze", "off" or "on"
    target: str = ""
    duration: timedelta | None = None
    problem: str = ""


def parse_watch(text: str) -> WatchCommand:
    head, tail = _first_word(text.strip())
    action = head.lower()
    if not action:
        return WatchCommand("show")
    if action not in ("snooze", "off", "on"):
        return WatchCommand(action, problem=f"Unknown `watch {head[:40]}`: use {WATCH_USAGE}.")
    target, rest, problem = _split_target(tail)
    if problem or not target:
        return WatchCommand(action, problem=problem or f"Say which endpoint: {WATCH_USAGE}.")
    if action != "snooze":
        return WatchCommand(action, target)
    duration, left = take_duration(rest)
    if duration is None or left:
        return WatchCommand(
            action, problem="Say for how long: `/convoy watch snooze <endpoint> 2h`."
        )
    return WatchCommand(action, target, duration)
