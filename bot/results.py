"""What the use cases return, beside a Change: a question, a request, a confirmation, a decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.approvals import ApprovalRequest, RequestState
from bot.changes import Change
from bot.choices import Question
from bot.models import Endpoint, Hold


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
class ApprovalAsked:
    """A requester's change became an approval request (or found one already open)."""

    request: ApprovalRequest
    endpoint: Endpoint
    already_open: bool


@dataclass(frozen=True)
class NeedsConfirmation:
    """Resuming an endpoint Convoy disabled needs the caller to confirm the risk."""

    confirmation_id: str
    endpoint: Endpoint
    reason: str
    scope: str


@dataclass(frozen=True)
class Decision:
    """What an approver's click did to a request."""

    request: ApprovalRequest
    state: RequestState
    change: Change | None


@dataclass(frozen=True)
class AutoResume:
    """What a due timer did: the hold it ended and the change, or why it did nothing, or
    that it failed and when it is tried again (`retry_at`: the timer stands)."""

    hold: Hold | None
    change: Change | None
    skipped: str
    failed: str = ""
    retry_at: datetime | None = None
    attempt: int = 0


@dataclass(frozen=True)
class HeldPause:
    """An entry of `/convoy paused`: a hold, and whether Convoy says it is over."""

    hold: Hold
    stale: bool


@dataclass(frozen=True)
class RecordGone:
    """A button's pause has no record any more (the store lost it), yet Convoy still reports
    the endpoint paused: the caller is offered an ordinary resume (a stored question)."""

    choice_id: str
    endpoint: Endpoint
    scope: str
    timer_lost: bool = False  # an Extend or Keep button: no auto-resume will come either


ChangeResult = Change | ApprovalAsked | NeedsConfirmation
