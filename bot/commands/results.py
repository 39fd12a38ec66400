"""What a command's use cases return beside a Change: a question to pick an endpoint, a
confirmation to ask for, a pause whose record is gone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from bot.approvals.results import ApprovalAsked
from bot.audit import AuditEntry
from bot.change.model import Change
from bot.commands.choices import Question
from bot.models import Endpoint


@dataclass(frozen=True)
class Candidates:
    """Several endpoints could be meant; the user picks one."""

    query: str
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True)
class Choice:
    """Several endpoints match: the caller picks one (the id names the stored question)."""

    choice_id: str
    verb: Question
    candidates: Candidates
    scope: str  # the project the question is about


@dataclass(frozen=True)
class NeedsConfirmation:
    """Resuming an endpoint Convoy disabled needs the caller to confirm the risk."""

    confirmation_id: str
    endpoint: Endpoint
    reason: str
    scope: str

    def audit_into(self, entry: AuditEntry) -> None:
        entry.endpoint(self.endpoint)
        entry.outcome = "confirmation asked"


@dataclass(frozen=True)
class RecordGone:
    """A button's pause has no record any more (the store lost it), yet Convoy still reports
    the endpoint paused: the caller is offered an ordinary resume (a stored question)."""

    choice_id: str
    endpoint: Endpoint
    scope: str
    timer_lost: bool = False  # an Extend or Keep button: no auto-resume will come either


ChangeResult: TypeAlias = Change | ApprovalAsked | NeedsConfirmation
