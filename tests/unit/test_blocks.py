"""Block Kit builders: user text is escaped, and what a responder must see is there."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from bot.changes import Change, Outcome
from bot.errors import EndpointNotFound, Forbidden
from bot.models import Action, Endpoint, EndpointStatus
from handlers.blocks import changes, reads

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
