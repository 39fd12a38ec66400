"""What a pause or resume attempt did to an endpoint, as the bot reports it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.models import Endpoint


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
class Change:
    """The result of one `ensure_paused` / `ensure_active` call."""

    action: Action
    outcome: Outcome
    before: Endpoint
    after: Endpoint | None
    detail: str = ""
    write_status: str = ""  # Convoy's answer to the write: "202", "timeout", … ("" if none sent)

    @property
    def changed(self) -> bool:
        """Whether the endpoint's status now differs from before, as the bot intended."""
        return self.outcome in (Outcome.PAUSED, Outcome.RESUMED)

    @property
    def endpoint(self) -> Endpoint:
        """The freshest view of the endpoint the bot has."""
        return self.after or self.before
