"""What asking for and deciding an approval return."""

from __future__ import annotations

from dataclasses import dataclass

from bot.approvals.store import ApprovalRequest, RequestState
from bot.audit import AuditEntry
from bot.change.model import Change
from bot.models import Endpoint


@dataclass(frozen=True)
class ApprovalAsked:
    """A requester's change became an approval request (or found one already open)."""

    request: ApprovalRequest
    endpoint: Endpoint
    already_open: bool

    def audit_into(self, entry: AuditEntry) -> None:
        entry.endpoint(self.endpoint)
        entry.outcome = "already requested" if self.already_open else "approval requested"
        entry.detail = f"request {self.request.id}"


@dataclass(frozen=True)
class Decision:
    """What an approver's click did to a request."""

    request: ApprovalRequest
    state: RequestState
    change: Change | None
