"""The audit trail: one Redis Stream entry per state change, refusal and role change."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.store import failing_closed

logger = logging.getLogger(__name__)

MAX_ENTRIES = 100_000
SCAN_BATCH = 500
MAX_SCANNED = 20_000  # how far back a filtered `/convoy audit` looks


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which endpoint, and how it ended. Nothing secret goes in here."""

    actor: str
    command: str
    outcome: str
    endpoint_uid: str = ""
    endpoint_name: str = ""
    project: str = ""
    approver: str = ""
    convoy_status: str = ""
    reason: str = ""
    detail: str = ""
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    entry_id: str = ""

    def matches(self, endpoint: str) -> bool:
        """Whether the entry is about the endpoint named by uid or (case-insensitive) name."""
        return endpoint == self.endpoint_uid or endpoint.casefold() == self.endpoint_name.casefold()


class AuditLog:
    """Appends entries and reads them back newest first."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def record(self, entry: AuditEntry) -> None:
        """Append an entry; a failure is logged, never allowed to undo or hide the action."""
        fields: dict[FieldT, EncodableT] = {
            key: value for key, value in asdict(entry).items() if key != "entry_id"
        }
        try:
            await self._redis.xadd(
                redis_keys.audit_stream(), fields, maxlen=MAX_ENTRIES, approximate=True
            )
        except RedisError as exc:
            logger.error(
                "could not write the audit entry for %s: %s", entry.command, type(exc).__name__
            )

    async def latest(
        self, limit: int, endpoint: str = "", since: datetime | None = None
    ) -> list[AuditEntry]:
        """Up to limit entries, newest first, optionally about one endpoint or after a time."""
        found: list[AuditEntry] = []
        upper = "+"
        lower = f"{int(since.timestamp() * 1000)}-0" if since else "-"
        scanned = 0
        with failing_closed():
            while len(found) < limit and scanned < MAX_SCANNED:
                batch = await self._redis.xrevrange(
                    redis_keys.audit_stream(), max=upper, min=lower, count=SCAN_BATCH
                )
                if not batch:
                    break
                scanned += len(batch)
                for entry_id, fields in batch:
                    if entry_id is None or fields is None:
                        continue  # redis-py's typing allows it; a stream entry always has both
                    entry = _entry(entry_id, fields)
                    upper = f"({entry.entry_id}"
                    if not endpoint or entry.matches(endpoint):
                        found.append(entry)
        return found[:limit]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entry(entry_id: str | bytes, fields: dict[str | bytes, str | bytes]) -> AuditEntry:
    known = set(AuditEntry.__dataclass_fields__) - {"entry_id"}
    values = {_text(k): _text(v) for k, v in fields.items() if _text(k) in known}
    return AuditEntry(**values, entry_id=_text(entry_id))
