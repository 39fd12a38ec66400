"""What a change is: who asked for it (Intent) and what it did to an endpoint (Change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.audit import AuditEntry
from bot.models import Action, Endpoint, EndpointStatus, Hold, InFlight


class Outcome(StrEnum):
    """Every way a pause or resume can end."""

    PAUSED = "paused"
    RESUMED = "resumed"
    ALREADY_PAUSED = "already paused"
    ALREADY_ACTIVE = "already active"
    INACTIVE = "inactive"  # Convoy disabled it: cannot pause; resume needs a confirmation
    NOT_CHANGED = "not changed"  # the write did not take effect (read back after settling)
    UNCONFIRMED = "unconfirmed"  # the write got no clear answer: Convoy may still apply it
    UNEXPECTED = "unexpected"  # Convoy answered with a status other than the one asked for
    MOVED_ON = "moved on"  # the endpoint is no longer as it was when this was offered


@dataclass(frozen=True)
class Caller:
    """Who clicked or typed, and where: approval requests are posted in that channel.

    `trigger` is Slack's id of this one command or click: the action's own identity.
    """

    user_id: str
    channel_id: str
    trigger: str = ""


@dataclass(frozen=True)
class Intent:
    """Who asked for a change, why, and for how long (a timed pause).

    `change_id` is the action's own identity (Slack's trigger id for a command or click, the
    timer for an auto-resume): it goes with the write to Convoy and on the messages about it.
    """

    actor: str
    reason: str = ""
    duration: timedelta | None = None
    approver: str = ""
    channel_id: str = ""
    change_id: str = ""
    request_id: str = ""  # the approval request this change carries out


@dataclass(frozen=True)
class ResumeSummary:
    """What a pause cost: how long it lasted and how many deliveries Convoy discarded."""

    paused_since: datetime
    resumed_at: datetime
    known_start: bool  # False when the bot did not make the pause and estimates its start
    discarded: int | None  # None when Convoy could not be asked
    problem: str = ""
    counted_all: bool = True  # False: more deliveries than the bot pages through
    project: str = ""  # the scope of the project (its Retry button acts there)

    @property
    def paused_for(self) -> timedelta:
        return self.resumed_at - self.paused_since


@dataclass(frozen=True)
class Change:
    """The result of one locked pause or resume."""

    action: Action
    outcome: Outcome
    before: Endpoint
    after: Endpoint | None
    detail: str = ""
    write_status: str = ""  # Convoy's answer to the write: "202", "timeout", … ("" if none sent)
    hold: Hold | None = None  # after a pause: the bot's record of it (and its timer)
    resumed: ResumeSummary | None = None  # after a resume: how long, and what was discarded
    in_flight: InFlight | None = None  # the write's journal record, until it is settled
    settled: bool = False  # the result of a write whose answer was lost, read later

    @property
    def changed(self) -> bool:
        """Whether the endpoint's status now differs from before, as the bot intended."""
        return self.outcome in (Outcome.PAUSED, Outcome.RESUMED)

    def audit_into(self, entry: AuditEntry) -> None:
        entry.endpoint(self.endpoint)
        entry.outcome = self.outcome.value
        entry.convoy_status = self.write_status
        entry.detail = self.detail

    @property
    def endpoint(self) -> Endpoint:
        """The freshest view of the endpoint the bot has (its name and uid are always right;
        its status only when `status_now` is not None)."""
        return self.after or self.before

    @property
    def status_now(self) -> EndpointStatus | None:
        """The status last read from Convoy, or None when it could not be read: never a
        status from before a write that may have landed."""
        return self.after.status if self.after is not None else None

    @property
    def in_doubt(self) -> bool:
        """The write got no clear answer: it may still land; a later read settles it."""
        return self.outcome is Outcome.UNCONFIRMED
