"""Records the bot reads and keeps: Convoy's endpoints (without secrets) and the bot's holds.

Convoy's endpoint carries secrets (signing secrets, auth credentials, mTLS keys). The model
ignores every field it does not name, so those never leave the Convoy client; the receiver
URL and the Slack webhook URL are kept as `SecretStr` because they often embed tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr


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
    failure_rate: float | None = None
    period_failure_rate: float | None = None
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
    message_ts: str = ""
    timer: str = ""  # the member in the timer sets

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
