"""What a change is: who asked for it (Intent) and what it did to an endpoint (Change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.models import Endpoint, Hold


class Outcome(StrEnum):
    """Every way a pause or resume can end."""

    PAUSED = "paused"
    RESUMED = "resumed"
    ALREADY_PAUSED = "already paused"
    ALREADY_ACTIVE = "already active"
    INACTIVE = "inactive"  # Convoy disabled it: cannot pause; resume needs a confirmation
    NOT_CHANGED = "not changed"  # the write failed; the status read back is unchanged
    UNCONFIRMED = "unconfirmed"  # the write failed and the status could not be read back
    UNEXPECTED = "unexpected"  # Convoy answered with a status other than the one asked for


class Action(StrEnum):
    """The two state changes the bot makes."""

    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True)
class Caller:
    """Who clicked or typed, and where: approval requests are posted in that channel."""

    user_id: str
    channel_id: str


@dataclass(frozen=True)
class Intent:
    """Who asked for a change, why, and for how long (a timed pause)."""

    actor: str
    reason: str = ""
    duration: timedelta | None = None
    approver: str = ""
    channel_id: str = ""


@dataclass(frozen=True)
class ResumeSummary:
    """What a pause cost: how long it lasted and how many deliveries Convoy discarded."""

    paused_since: datetime
    resumed_at: datetime
    known_start: bool  # False when the bot did not make the pause and estimates its start
    discarded: int | None  # None when Convoy could not be asked
    problem: str = ""
    counted_all: bool = True  # False: more deliveries than the bot pages through

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

    @property
    def changed(self) -> bool:
        """Whether the endpoint's status now differs from before, as the bot intended."""
        return self.outcome in (Outcome.PAUSED, Outcome.RESUMED)

    @property
    def endpoint(self) -> Endpoint:
        """The freshest view of the endpoint the bot has."""
        return self.after or self.before
