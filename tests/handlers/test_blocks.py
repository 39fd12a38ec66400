"""Block Kit builders: user text is escaped, and what a responder must see is there."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.access.roles import Role
from bot.approvals.store import ApprovalRequest, RequestState
from bot.audit import AuditEntry
from bot.change.model import Change, Outcome
from bot.commands.choices import Question
from bot.commands.paused_list import HeldPause
from bot.commands.results import Candidates, Choice
from bot.errors import EndpointNotFound, Forbidden
from bot.models import Action, Endpoint, EndpointStatus, Hold
from bot.project import Project
from bot.projects.catalog import AskWhich
from bot.projects.channel_admin import ProjectView
from handlers.blocks import answers, changes, kit, reads, requests, timers
from handlers.blocks.kit import Message
from tests.fakes.block_kit import message_problems

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

ENDPOINT = Endpoint(uid="01HXYZ", name="<!channel> & co", status=EndpointStatus.PAUSED)


def test_user_text_cannot_ping_or_link() -> None:
    """`<!channel>` or `<http://x|y>` in a name or reason is shown, not acted on."""
    change = Change(Action.PAUSE, Outcome.PAUSED, ENDPOINT, ENDPOINT)

    text, built = changes.change_announcement(
        change, "U1", "see <http://evil.test|here>", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )

    rendered = str(built) + text
    assert "<!channel>" not in rendered
    assert "&lt;!channel&gt; &amp; co" in rendered
    assert "<http://evil.test|here>" not in rendered
    assert "2026-01-02 03:04:05 UTC" in rendered


def test_channel_announcement_has_resume_button_only_after_pause() -> None:
    """A pause offers Resume; a resume offers nothing."""
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    paused = Change(Action.PAUSE, Outcome.PAUSED, ENDPOINT, ENDPOINT)
    resumed = Change(Action.RESUME, Outcome.RESUMED, ENDPOINT, ENDPOINT)

    _, with_button = changes.channel_announcement(paused, "U1", "", moment, "no webhook")
    _, without = changes.channel_announcement(resumed, "U1", "", moment, "no webhook")

    assert [b["type"] for b in with_button][-1] == "actions"
    assert "actions" not in [b["type"] for b in without]


def test_status_shows_host_not_url() -> None:
    """Only the receiver's host is shown: its path and query may carry tokens."""
    endpoint = Endpoint(uid="u", name="n", url=SecretStr("https://h.test/p?token=t"))

    text, _ = reads.status_message(endpoint)

    assert "`h.test`" in text
    assert "token" not in text


def test_forbidden_names_the_admins_and_other_errors_are_escaped() -> None:
    """A refusal mentions who can grant the role; user text in errors stays inert."""
    refusal = reads.error_message(Forbidden("needs *operator*", grantors=("U0ADMIN",)))
    missing = reads.error_message(EndpointNotFound("No endpoint matches '<!here>'"))

    assert refusal == ":x: needs *operator* Admins: <@U0ADMIN>."
    assert "<!here>" not in missing


def test_mentions_of_people_and_channels_stay_live_pings_do_not() -> None:
    """Users and channels named in a reason are real mentions; `@channel`, `@here`,
    `@everyone`, user groups and links are shown as text."""
    reason = (
        "<@U0ALICE|alice> and <@W0BOB> see <#C0OPS|ops> <#C0OPS>; "
        "<!channel> <!here> <!everyone> <!subteam^S0ONCALL|@oncall> <http://x.test|y> a&b"
    )

    shown = kit.escape(reason)

    assert shown == (
        "<@U0ALICE|alice> and <@W0BOB> see <#C0OPS|ops> <#C0OPS>; "
        "&lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt; &lt;!subteam^S0ONCALL|@oncall&gt; "
        "&lt;http://x.test|y&gt; a&amp;b"
    )


def _tokens_whole(text: str) -> bool:
    """Every `<` opens a token that closes, and every `&` starts an entity that ends."""
    return all(text.find(">", at) != -1 for at in range(len(text)) if text[at] == "<") and all(
        re.match(r"&(amp|lt|gt);", text[at:]) for at in range(len(text)) if text[at] == "&"
    )


PIECES = st.sampled_from(
    ["<@U0ALICE|alice>", "<#C0OPS|ops>", "<!channel>", "&", "<", ">", "é", "🙂", " ", "x" * 7]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(PIECES, max_size=60).map("".join), st.integers(min_value=1, max_value=400))
def test_cut_is_within_the_limit_and_never_splits_a_token(text: str, limit: int) -> None:
    """Escaped text cut to any limit fits it, keeps its beginning, and never ends inside a
    `<…>` token or an `&…;` entity."""
    escaped = kit.escape(text)

    short = kit.cut(escaped, limit)

    assert len(short) <= limit
    assert _tokens_whole(short)
    assert short == escaped or short.endswith(kit.ELLIPSIS)
    assert escaped.startswith(short.removesuffix(kit.ELLIPSIS))


def test_a_date_token_is_cut_whole_or_not_at_all() -> None:
    """A time the bot writes (`<!date^…>`) at the cut is left out whole, never half shown."""
    line = "Paused " + kit.when(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    assert kit.cut(line, 30) == "Paused…"
    assert kit.cut(line, len(line)) == line


def test_fitted_keeps_fifty_blocks_with_the_buttons_last() -> None:
    """A message of 80 blocks keeps its first ones, says how many were left out, and keeps
    its buttons; its fallback text is cut to Slack's 40,000 characters."""
    buttons = kit.actions("resume", kit.button("a", "Resume", "v"))
    blocks = [kit.section(f"line {n}") for n in range(80)] + [buttons]

    text, fitted = kit.fitted("x" * 50_000, blocks)

    assert len(fitted) == 50
    assert fitted[-1] == buttons
    assert fitted[-2]["elements"][0]["text"] == "…and 32 more not shown."
    assert len(text) == 40_000
    assert message_problems({"text": text, "blocks": fitted}) == ("", [])


LONG_TEXT = st.lists(
    st.sampled_from(["a", " ", "<", ">", "&", "*", "\n", "🙂", "<@U0ALICE>", "<!here>", "x" * 50]),
    max_size=400,
).map("".join)
MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _hold(name: str, reason: str) -> Hold:
    return Hold(
        hold_id="h1",
        project="p",
        uid="01HXYZ",
        name=name,
        actor="U1",
        reason=reason,
        paused_at="1767322800",
        resume_at="1767324600",
    )


def _request(name: str, reason: str) -> ApprovalRequest:
    return ApprovalRequest(
        action=Action.PAUSE,
        project="p",
        endpoint_uid="01HXYZ",
        endpoint_name=name,
        endpoint_status="active",
        requester="U1",
        reason=reason,
        channel_id="C1",
        duration_s="1800",
        id="r1",
        created_at=MOMENT,
        expires_at=MOMENT,
        expires_ts=0,
        decided_by="U2",
    )


def _every_message(name: str, reason: str) -> list[Message]:
    endpoint = Endpoint(uid="01HXYZ", name=name, status=EndpointStatus.PAUSED)
    hold = _hold(name, reason)
    paused = Change(Action.PAUSE, Outcome.PAUSED, endpoint, endpoint, detail=reason, hold=hold)
    request = _request(name, reason)
    # A project's URL and id are as long as they can be (any text, escaped, in the path).
    api_url = f"https://convoy.example.com/{quote(name[:300], safe='')}"
    project = Project(alias="payments", api_url=api_url, project_id="01H" + "X" * 97)
    candidates = Candidates(reason, (endpoint,) * 5)
    entry = AuditEntry("U1", "pause", endpoint_name=name, outcome="refused", detail=reason)
    return [
        changes.change_announcement(paused, "U1", reason, MOMENT),
        changes.channel_announcement(paused, "U1", reason, MOMENT, reason),
        answers.choice_message(Choice("c1", Question.PAUSE, candidates, "p@h/api")),
        (changes.working_note("pause", name), []),
        (answers.unchanged_message(paused), []),
        requests.request_message(request),
        requests.decision_message(request, RequestState.DENIED, None, MOMENT, reason),
        requests.decision_message(request, RequestState.APPROVED, paused, MOMENT, reason),
        (requests.requester_notice(request, RequestState.DENIED, None), []),
        reads.status_message(endpoint),
        reads.list_message([endpoint] * 300, reason),
        reads.audit_message([entry] * 300, name),
        (reads.help_message(None, project, True, reason), []),
        reads.projects_message(
            [ProjectView(project, Role.ADMIN, ("C1",) * 60)] * 120, project, "C1"
        ),
        reads.project_question(AskWhich("cid", (project,) * 60), reason),
        reads.picked_message(project, reason),
        changes.bound_copy(
            changes.channel_announcement(paused, "U1", reason, MOMENT, reason), "C1", name
        ),
        changes.status_only_announcement(paused),
        (reads.error_message(EndpointNotFound(reason)), []),
        timers.reminder_message(hold, MOMENT, reason),
        timers.paused_message([HeldPause(hold, stale=False)] * 300, MOMENT),
        timers.auto_resumed_message(hold, paused, MOMENT),
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LONG_TEXT, LONG_TEXT)
def test_every_message_stays_within_slacks_limits_for_any_name_and_reason(
    name: str, reason: str
) -> None:
    """Names and reasons of any length and characters, and lists of hundreds, give messages
    Slack takes, once fitted as every message is on its way to Slack."""
    for text, blocks in _every_message(name or "n", reason):
        fitted_text, fitted_blocks = kit.fitted(text, blocks)
        assert message_problems({"text": fitted_text, "blocks": fitted_blocks}) == ("", [])
        assert all(_tokens_whole(b["text"]["text"]) for b in blocks if b["type"] == "section")


def test_status_shows_a_period_failure_rate_as_a_percentage_not_a_fraction() -> None:
    """Convoy's period failure rate is a fraction: 0.25 is shown as 25.0%, never 0.2%."""
    endpoint = Endpoint(uid="u", name="n", period_failure_rate=0.25)

    text, _ = reads.status_message(endpoint)

    assert "Failure rate: 25.0% (deliveries)" in text
    assert "0.2%" not in text


def test_status_shows_the_breakers_rate_as_convoy_sent_it_with_its_state() -> None:
    """The circuit breaker's rate is a percentage already, and its state is said."""
    endpoint = Endpoint(
        uid="u", name="n", failure_rate=62.5, cb_state="open", period_failure_rate=0.1
    )

    text, _ = reads.status_message(endpoint)

    assert "Failure rate: 62.5% (circuit breaker: open)" in text
