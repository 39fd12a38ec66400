"""The audit trail: one Redis Stream entry per state change, refusal and role change.

Each use case writes exactly one entry through `audited`: a draft it fills in as it runs,
recorded with its outcome, its refusal or its failure.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.clock import Clock
from bot.errors import (
    AccessStoreUnavailable,
    AlreadyHandled,
    BotError,
    ConvoyError,
    Forbidden,
    InvalidInput,
    TooManyChanges,
)
from bot.logs import describe_failure
from bot.models import Endpoint
from bot.store import STORE_ERRORS, Store, failing_closed

logger = logging.getLogger(__name__)

MAX_ENTRIES = 100_000
SCAN_BATCH = 500
MAX_SCANNED = 20_000  # how far back a filtered `/convoy audit` looks
MAX_REASON = 500
MAX_DETAIL = 300
REFUSALS = (Forbidden, AlreadyHandled, InvalidInput, TooManyChanges)


@dataclass
class AuditEntry:
    """Who did what to which endpoint, and how it ended. Nothing secret goes in here.

    A use case fills its entry in as it runs (`AuditLog.audited`); an empty outcome means
    there is nothing to record.
    """

    actor: str
    command: str
    project: str = ""
    outcome: str = ""
    endpoint_uid: str = ""
    endpoint_name: str = ""
    approver: str = ""
    convoy_status: str = ""
    reason: str = ""
    detail: str = ""
    time: str = ""  # stamped from the shared clock when recorded
    entry_id: str = ""

    def matches(self, endpoint: str) -> bool:
        """Whether the entry is about the endpoint named by uid or (case-insensitive) name."""
        return endpoint == self.endpoint_uid or endpoint.casefold() == self.endpoint_name.casefold()

    def endpoint(self, endpoint: Endpoint) -> None:
        self.endpoint_uid, self.endpoint_name = endpoint.uid, endpoint.label

    def result(self, result: object) -> None:
        """Fill the outcome from what a use case returned, when it says how (a question or a
        choice to pick from records nothing yet: the answer will)."""
        if isinstance(result, Auditable):
            result.audit_into(self)


@runtime_checkable
class Auditable(Protocol):
    """A use case's result that says how it goes into its audit entry (a change, a request,
    a confirmation asked), so the trail knows no use case's types."""

    def audit_into(self, entry: AuditEntry) -> None: ...


class AuditLog:
    """Appends entries and reads them back newest first."""

    def __init__(self, redis: Store, clock: Clock) -> None:
        self._redis = redis
        self._clock = clock

    @contextlib.asynccontextmanager
    async def audited(self, actor: str, command: str, project: str) -> AsyncIterator[AuditEntry]:
        """Record exactly one entry for the use case: its outcome, refusal or failure."""
        draft = AuditEntry(actor, command, project)
        try:
            yield draft
        except REFUSALS as exc:
            draft.outcome, draft.detail = "refused", exc.message
            await self.record(draft)
            raise
        except BotError as exc:
            draft.outcome, draft.detail = "failed", exc.message
            if isinstance(exc, ConvoyError):
                draft.convoy_status = exc.status
            if not isinstance(exc, AccessStoreUnavailable):  # Redis is gone: nowhere to write
                await self.record(draft)
            raise
        if draft.outcome:
            await self.record(draft)

    async def record(self, entry: AuditEntry) -> None:
        """Append an entry; a failure is logged, never allowed to undo or hide the action."""
        stamped = asdict(entry) | {
            "time": self._clock.now().isoformat(timespec="seconds"),
            "reason": entry.reason[:MAX_REASON],
            "detail": entry.detail[:MAX_DETAIL],
        }
        fields: dict[FieldT, EncodableT] = {
            key: value for key, value in stamped.items() if key != "entry_id"
        }
        try:
            await self._redis.xadd(
                redis_keys.audit_stream(), fields, maxlen=MAX_ENTRIES, approximate=True
            )
        except STORE_ERRORS as exc:
            logger.error(
                "could not write the audit entry for %s: %s", entry.command, describe_failure(exc)
            )

    async def latest(
        self,
        limit: int,
        endpoint: str = "",
        since: datetime | None = None,
        projects: Collection[str] = (),
    ) -> list[AuditEntry]:
        """Up to limit entries, newest first, optionally about one endpoint, after a time, or
        in one project (named by any of `projects`)."""
        found: list[AuditEntry] = []
        upper = "+"
        # A stream id is milliseconds since 1970: a window reaching further back is all of it.
        lower = f"{int(since.timestamp() * 1000)}-0" if since and since.year >= 1970 else "-"
        scanned = 0
        with failing_closed():
            while len(found) < limit and scanned < MAX_SCANNED:
                batch = await self._redis.xrevrange(
                    redis_keys.audit_stream(), max=upper, min=lower, count=SCAN_BATCH
                )
                if not batch:
                    break
                scanned += len(batch)
                # A decoding client: ids and fields are str, and a stream entry has both.
                for entry_id, fields in cast(list[tuple[str, dict[str, str]]], batch):
                    entry = _entry(entry_id, fields)
                    upper = f"({entry.entry_id}"
                    if projects and entry.project not in projects:
                        continue
                    if not endpoint or entry.matches(endpoint):
                        found.append(entry)
        return found[:limit]


def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
    known = set(AuditEntry.__dataclass_fields__) - {"entry_id"}
    values = {key: value for key, value in fields.items() if key in known}
    return AuditEntry(**values, entry_id=entry_id)
