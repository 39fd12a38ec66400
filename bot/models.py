"""Records the bot reads and keeps: Convoy's endpoints (without secrets) and the bot's holds.

Convoy's endpoint carries secrets (signing secrets, auth credentials, mTLS keys). The model
ignores every field it does not name, so those never leave the Convoy client; the receiver
URL and the Slack webhook URL are kept as `SecretStr` because they often embed tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr


class Action(StrEnum):
    """The two state changes the bot makes."""

    PAUSE = "pause"
    RESUME = "resume"


class EndpointStatus(StrEnum):
    """Convoy's endpoint statuses."""

    ACTIVE = "active"
    PAUSED = "paused"
    INACTIVE = "inactive"
    UNKNOWN = ""


class Endpoint(BaseModel):
    """A Convoy endpoint, without its secrets."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    uid: str
    name: str = ""
    project_id: str = ""
    status: EndpointStatus = EndpointStatus.UNKNOWN
    description: str = ""
    url: SecretStr = SecretStr("")
    slack_webhook_url: SecretStr = SecretStr("")
    failure_rate: float | None = None  # the circuit breaker's, a percentage (bot.failure_rates)
    cb_state: str | None = None  # the circuit breaker's state: open, half-open, closed
    period_failure_rate: float | None = None  # a fraction 0-1, not a percentage
    updated_at: str = ""

    @property
    def url_host(self) -> str:
        """The receiver's host alone: paths and queries may carry tokens."""
        try:
            return urlsplit(self.url.get_secret_value()).hostname or "unknown host"
        except ValueError:
            return "unknown host"

    @property
    def label(self) -> str:
        """How a responder recognises the endpoint: its name, or its uid when unnamed."""
        return self.name or self.uid


Item = TypeVar("Item", bound=BaseModel)


class Pagination(BaseModel):
    """Convoy's cursor paging block."""

    model_config = ConfigDict(extra="ignore")

    per_page: int = 0
    has_next_page: bool = False
    next_page_cursor: str = ""


class Delivery(BaseModel):
    """An event delivery: only what the bot counts."""

    model_config = ConfigDict(extra="ignore")

    uid: str = ""
    status: str = ""


class Page(BaseModel, Generic[Item]):
    """One page of a Convoy list (`GET /endpoints`, `GET /eventdeliveries`)."""

    model_config = ConfigDict(extra="ignore")

    content: list[Item] = []
    pagination: Pagination | None = None


class Hold(BaseModel):
    """One pause the bot made (the bot's record, kept in Redis); `resume_at` empty = no timer."""

    hold_id: str
    project: str
    uid: str
    name: str
    actor: str
    approver: str = ""
    reason: str = ""
    paused_at: str  # epoch seconds
    resume_at: str = ""  # epoch seconds, or "" without a timer
    channel_id: str = ""
    message_ts: str = ""  # the announcement (or the approved request) in `channel_id`
    reminder_ts: str = ""  # the reminder posted in its thread, once it was
    announcement: str = ""  # the announcement's blocks (JSON), to re-time it from any message
    timer: str = ""  # the member in the timer sets
    attempts: str = "0"  # auto-resumes tried and failed so far

    @property
    def paused_since(self) -> datetime:
        return datetime.fromtimestamp(float(self.paused_at), UTC)

    @property
    def resumes_at(self) -> datetime | None:
        return datetime.fromtimestamp(float(self.resume_at), UTC) if self.resume_at else None

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint as the hold knows it: uid and name, nothing read from Convoy."""
        return Endpoint(uid=self.uid, name=self.name)


class FlightState(StrEnum):
    """Where a write is between being sent and being told."""

    SENT = "sent"  # sent, or about to be: no answer yet
    IN_DOUBT = "in doubt"  # its answer was lost: Convoy may still apply it
    ANSWERED = "answered"  # Convoy's answer (or a settling read) is known; not told yet


class InFlight(BaseModel):
    """One change sent (or about to be sent) to Convoy, kept until it has been told."""

    change_id: str  # the action's own identity: also sent to Convoy and put on messages
    project: str
    uid: str
    name: str
    action: Action
    before: str  # the status read under the lock, before the write
    actor: str
    approver: str = ""
    reason: str = ""
    duration_s: str = ""  # a timed pause: counted from `started_at`
    channel_id: str = ""
    request_id: str = ""  # an approval request this change carries out
    message_ts: str = ""  # where the "not confirmed" report was posted, once it was
    started_at: str  # epoch seconds
    settle_at: str  # epoch seconds: when a replica reads Convoy to settle it
    state: FlightState = FlightState.SENT
    told: bool = False  # people were told it is in doubt: its settled result may follow
    note: str = ""  # what the writer learned (the failure), for the settled report

    @property
    def member(self) -> str:
        return f"{self.project}|{self.uid}"

    @property
    def started(self) -> datetime:
        return datetime.fromtimestamp(float(self.started_at), UTC)

    @property
    def settles_at(self) -> datetime:
        return datetime.fromtimestamp(float(self.settle_at), UTC)

    @property
    def duration(self) -> timedelta | None:
        return timedelta(seconds=int(self.duration_s)) if self.duration_s else None
