"""The `/convoy` text parser: pure, total, and faithful to what the user typed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.durations import LONGEST, parse_duration
from handlers.parsing import (
    VERBS,
    Command,
    WatchCommand,
    parse,
    parse_watch,
    projects_in_reason,
    take_notify,
    take_project,
)
from tests.slack_requests import slack_escape

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Command("help")),
        ("HELP", Command("help")),
        ("pause orders-api", Command("pause", "orders-api")),
        ("Pause orders-api bad payloads", Command("pause", "orders-api", "bad payloads")),
        ('pause "Orders API" why', Command("pause", "Orders API", "why")),
        ("resume 'Orders API'", Command("resume", "Orders API")),
        ("resume \u201cOrders API\u201d ok", Command("resume", "Orders API", "ok")),
        ("status\norders", Command("status", "orders")),
        ("pause a\nline one\nline two", Command("pause", "a", "line one\nline two")),
        ("list", Command("list")),
        ("list orders eu", Command("list", rest="orders eu")),
        ("pause a &amp; b &lt;x&gt;", Command("pause", "a", "& b <x>")),
    ],
)
def test_parse_examples(text: str, expected: Command) -> None:
    """Verbs are case-insensitive; quoted names keep their spaces; Slack's escapes are undone."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("pause", "Say which endpoint"),
        ('pause "unclosed name', "opening quote is never closed"),
        ('pause "" why', "quoted endpoint name is empty"),
        ("destroy everything", "Unknown command `destroy`"),
    ],
)
def test_parse_problems(text: str, problem: str) -> None:
    """Text that cannot be acted on says why, and is never a pause or resume."""
    command = parse(text)
    assert not command.valid
    assert problem in command.problem
    assert not (command.verb in ("pause", "resume") and command.valid)


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    """Any text at all parses to a command (valid or with a problem), never an exception."""
    command = parse(text)
    assert command.verb in VERBS


names = st.text(
    st.characters(blacklist_characters='"\u201c\u201d', blacklist_categories=["Cs"]), min_size=1
).filter(lambda name: name.strip() == name and name != "")
reasons = (
    st.text(st.characters(blacklist_categories=["Cs"]))
    .map(str.strip)
    # `for 30m …` and `--for 30m` make a timed pause; tested on their own below
    .filter(lambda r: "--for" not in r and parse_duration(r[4:].split(" ")[0]) is None)
)


@given(names, reasons)
def test_quoted_name_and_reason_round_trip(name: str, reason: str) -> None:
    """Whatever the name and reason, Slack's escaped text parses back to exactly them."""
    command = parse(slack_escape(f'pause "{name}" {reason}'))
    assert command == Command("pause", name, reason)


@pytest.mark.parametrize(
    ("text", "target", "reason", "minutes"),
    [
        ("pause x for 30m bad stuff", "x", "bad stuff", 30),
        ("pause x --for 2h bad", "x", "bad", 120),
        ("pause x bad --for=90s", "x", "bad", 1.5),
        ('pause "A B" for 1h30m', "A B", "", 90),
        ("pause x for the incident", "x", "for the incident", None),
    ],
)
def test_timed_pause(text: str, target: str, reason: str, minutes: float | None) -> None:
    """`for 30m` right after the endpoint, or `--for 30m` anywhere, is the pause's length."""
    command = parse(text)
    assert (command.target, command.rest) == (target, reason)
    expected = None if minutes is None else minutes * 60
    assert (command.duration.total_seconds() if command.duration else None) == expected


def test_bad_duration_flag_is_a_problem() -> None:
    """`--for soon` is refused rather than guessed."""
    assert "is not a duration" in parse("pause x --for soon").problem


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [
        ("30m", 30),
        ("30min", 30),
        ("30 mins", 30),
        ("30 minutes", 30),
        ("1h", 60),
        ("1 hour", 60),
        ("2 hours", 120),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("1 hour 30 minutes", 90),
        ("90s", 1.5),
        ("45 seconds", 0.75),
    ],
)
def test_durations_in_the_forms_people_type(typed: str, minutes: float) -> None:
    """Each form is the pause's length, and nothing of it is left in the reason."""
    command = parse(f"pause orders-api for {typed} receiver down\nsince 02:10")

    assert command.problem == ""
    assert command.duration is not None
    assert command.duration.total_seconds() == minutes * 60
    assert command.rest == "receiver down\nsince 02:10"


@pytest.mark.parametrize("typed", ["30", "30 quicklies", "2x", "1.5h"])
def test_a_duration_not_understood_asks_instead_of_guessing(typed: str) -> None:
    """Text after `for` that starts like a duration but is not one gets "did you mean", and
    is never silently taken as the reason (the pause would have no timer)."""
    command = parse(f"pause orders-api for {typed} receiver down")

    assert not command.valid
    assert "Did you mean `for " in command.problem
    assert "Nothing was changed." in command.problem


def test_notify_takes_a_user_group_mention_only() -> None:
    """`--notify @group` arrives as `<!subteam^S…|@name>`: its id is taken, the rest kept;
    a plain word is refused (it could not be mentioned)."""
    assert take_notify("payments --notify <!subteam^S0ONCALL|@oncall>") == (
        "S0ONCALL",
        "payments",
        "",
    )
    assert take_notify("payments") == ("", "payments", "")
    group, rest, problem = take_notify("--notify=oncall payments")
    assert (group, rest) == ("", "payments")
    assert "user group picked with @" in problem


def test_watch_subcommands_parse_or_say_what_is_missing() -> None:
    """`watch` alone shows; snooze needs an endpoint and a duration; off/on an endpoint."""
    assert parse_watch("") == WatchCommand("show")
    assert parse_watch('snooze "Orders API" 1h 30m') == WatchCommand(
        "snooze", "Orders API", timedelta(hours=1, minutes=30)
    )
    assert parse_watch("off orders-api") == WatchCommand("off", "orders-api")
    assert "Say for how long" in parse_watch("snooze orders-api").problem
    assert "Say which endpoint" in parse_watch("on").problem
    assert "Unknown `watch mute`" in parse_watch("mute orders-api").problem


NUMBERS = st.one_of(st.integers(min_value=0, max_value=10**40).map(str), st.text("0123456789"))
UNITS = st.sampled_from(["s", "m", "h", "d", "days", " hours", "min", "x", ""])
DURATION_LIKE = st.lists(st.tuples(NUMBERS, UNITS).map("".join), min_size=1, max_size=4).map(
    " ".join
)


@given(DURATION_LIKE, st.text())
def test_parse_never_raises_whatever_the_duration(typed: str, reason: str) -> None:
    """Issue 21 item 6: any number of any size after `for`, `--for` or `watch snooze` parses
    (a duration, or a problem), never an exception; one too long is refused by its limit."""
    for text in (f"pause x for {typed} {reason}", f"pause x {reason} --for {typed}"):
        command = parse(text)
        assert command.verb == "pause"
        assert command.duration is None or command.duration <= LONGEST
    parse_watch(f"snooze x {typed}")
    duration = parse_duration(typed)
    assert duration is None or timedelta(0) < duration <= LONGEST


def test_a_number_too_large_is_read_as_the_longest_duration() -> None:
    """`1000000000d` (beyond timedelta) and a number of thousands of digits (beyond int())
    are the longest duration, which every limit then refuses by name."""
    assert parse_duration("1000000000d") == LONGEST
    assert parse_duration("9" * 5000 + "s") == LONGEST
    assert parse("pause x for 1000000000d why").duration == LONGEST
    assert parse_duration("000000000000000000000000000000030m") == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "project", "rest"),
    [
        ("pause x crashlooping, see kubectl logs -p shows OOMKilled", "", None),
        ("pause x bad payloads -p billing", "", None),
        ("pause x -p billing bad payloads -p other", "billing", "pause x  bad payloads -p other"),
        ("-p billing pause x why", "billing", "pause x why"),
        ("pause --project=billing x why", "billing", "pause  x why"),
        ('pause "Orders API" -p billing why', "billing", 'pause "Orders API"  why'),
        ("pause x for 30m -p billing why", "billing", "pause x for 30m   why"),
        ("pause x for 1 hour 30 minutes -p billing why", "billing", None),
        ("resume x -p billing fixed", "billing", "resume x  fixed"),
        ("resume x fixed, -p billing was wrong", "", None),
        ("status x -p billing", "billing", "status x"),
        ("list orders -p billing", "billing", "list orders"),
    ],
)
def test_the_project_flag_is_read_before_the_reason_only(
    text: str, project: str, rest: str | None
) -> None:
    """Issue 21 item 2: `-p` before the reason (around the verb, the endpoint, its duration)
    is the project flag; within the reason it is the reason's text, word for word."""
    named, left = take_project(text)
    assert named == project
    if rest is not None:
        assert left == rest
    if not project:
        assert left == text
        assert "-p" in parse(left).rest, "kept in the reason, word for word"


def test_a_reason_names_its_projects_for_the_bot_to_ask_about() -> None:
    """What a reason says after `-p`: the aliases the bot asks about before acting."""
    assert projects_in_reason("bad payloads -p billing and --project=eu") == ["billing", "eu"]
    assert projects_in_reason("kubectl logs -p") == []
