"""Approval requests in Redis: created by requesters, decided exactly once by approvers.

A request is a Redis hash. Deciding it is one Lua script that checks the state and the expiry
and claims it in the same step, so two clicks, two approvers or two bot replicas can never
both act on one request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from pydantic import BaseModel
from redis.typing import EncodableT, FieldT

from bot import redis_keys
from bot.models import Action
from bot.store import Store, failing_closed

# Kept this long after expiry so a late click still learns what became of the request.
RECORD_GRACE = timedelta(days=2)

# KEYS[1] request hash. ARGV: new state, decider, now (epoch s), decided_at (ISO), lease end
# (epoch s, for an approval being carried out). Returns {verdict, state, decided_by}: verdict
# is one of ClaimVerdict. A request whose approver stopped mid-way (its lease ran out) is
# pending again: its change either was never sent, or is in the in-flight journal, whose
# record keeps a second write out until it is settled.
_CLAIM = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', '', ''} end
if state == 'approving' then
  local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_ts') or '') or 0
  if lease > 0 and tonumber(ARGV[3]) >= lease then state = 'pending' end
end
if state ~= 'pending' then
  return {'taken', state, redis.call('HGET', KEYS[1], 'decided_by') or ''}
end
if tonumber(ARGV[3]) >= tonumber(redis.call('HGET', KEYS[1], 'expires_ts')) then
  redis.call('HSET', KEYS[1], 'state', 'expired', 'decided_at', ARGV[4])
  return {'expired', 'expired', ''}
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'decided_by', ARGV[2], 'decided_at', ARGV[4],
           'lease_ts', ARGV[5])
return {'claimed', ARGV[1], ARGV[2]}
"""


class RequestState(StrEnum):
    """Where a request is in its life."""

    PENDING = "pending"
    APPROVING = "approving"  # claimed by an approver; the change is being made
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # it could not be posted, so nobody could decide it
    OUTDATED = "outdated"  # the pause a resume was asked for is over: nothing to approve


class ClaimVerdict(StrEnum):
    """What trying to decide a request found."""

    CLAIMED = "claimed"
    TAKEN = "taken"  # someone decided (or is deciding) it already
    EXPIRED = "expired"
    MISSING = "missing"


class NewRequest(BaseModel):
    """What a requester asks for, before it has an id, an expiry and a decision."""

    action: Action
    project: str
    endpoint_uid: str
    endpoint_name: str
    endpoint_status: str
    requester: str
    reason: str
    channel_id: str
    duration_s: str = ""  # a timed pause: its length in seconds, counted from approval
    hold_id: str = ""  # a resume: the bot's pause it was asked for ("" when none)

    @property
    def duration(self) -> timedelta | None:
        return timedelta(seconds=int(self.duration_s)) if self.duration_s else None


class ApprovalRequest(NewRequest):
    """One requester's ask for a pause or resume, as stored and decided."""

    id: str
    created_at: datetime
    expires_at: datetime
    expires_ts: int
    state: RequestState = RequestState.PENDING
    message_ts: str = ""
    decided_by: str = ""
    decided_at: str = ""
    lease_ts: str = ""  # while being approved: when the approver's claim runs out
    outcome: str = ""
    decision_reason: str = ""  # why the approver denied it, if they said


@dataclass(frozen=True)
class Claim:
    """The result of trying to decide a request."""

    verdict: ClaimVerdict
    state: str
    decided_by: str


class ApprovalStore:
    """Creates, reads, claims and closes approval requests."""

    def __init__(self, redis: Store, ttl: timedelta, lease: timedelta) -> None:
        self._redis = redis
        self.ttl = ttl
        self.lease = lease  # longer than carrying out an approval can take (the lock's TTL)
        self._claim = redis.register_script(_CLAIM)

    async def open_request_for(
        self, project: str, uid: str, action: Action, now: datetime
    ) -> ApprovalRequest | None:
        """The pending, unexpired request for this endpoint and action, if there is one."""
        with failing_closed():
            request_id = await self._redis.get(redis_keys.open_approval(project, uid, action.value))
        if request_id is None:
            return None
        request = await self.get(cast(str, request_id))  # a decoding client: always str
        if request is None or request.state is not RequestState.PENDING:
            return None
        if request.expires_at <= now:
            return None
        return request

    async def create(self, new: NewRequest, now: datetime) -> ApprovalRequest:
        expires_at = now + self.ttl
        request = ApprovalRequest(
            **new.model_dump(),
            id=secrets.token_urlsafe(12),
            created_at=now,
            expires_at=expires_at,
            expires_ts=int(expires_at.timestamp()),
        )
        key = redis_keys.approval(request.id)
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, mapping=_to_hash(request))
                pipe.expire(key, self.ttl + RECORD_GRACE)
                pipe.set(
                    redis_keys.open_approval(new.project, new.endpoint_uid, new.action.value),
                    request.id,
                    ex=self.ttl,
                )
                waiting = redis_keys.approvals_waiting(new.project)
                pipe.zadd(waiting, {request.id: request.expires_ts})
                pipe.expire(waiting, self.ttl + RECORD_GRACE)
                await pipe.execute()
        return request

    async def pending(self, project: str, now: datetime) -> list[ApprovalRequest]:
        """The project's pending, unexpired requests, oldest first. The index is a hint (a
        request is dropped from it when closed, or once expired); each request's own state
        decides, so one claimed or expired meanwhile is never listed."""
        waiting = redis_keys.approvals_waiting(project)
        with failing_closed():
            await self._redis.zremrangebyscore(waiting, "-inf", f"({now.timestamp()}")
            ids = cast(list[str], await self._redis.zrange(waiting, 0, -1))
        found = [await self.get(request_id) for request_id in ids]
        return [
            request
            for request in found
            if request is not None
            and request.project == project
            and request.state is RequestState.PENDING
            and request.expires_at > now
        ]

    async def get(self, request_id: str) -> ApprovalRequest | None:
        with failing_closed():
            fields = await self._redis.hgetall(redis_keys.approval(request_id))
        return ApprovalRequest.model_validate(fields) if fields else None

    async def set_fields(self, request_id: str, **fields: str) -> None:
        mapping: dict[FieldT, EncodableT] = {key: value for key, value in fields.items()}
        with failing_closed():
            await self._redis.hset(redis_keys.approval(request_id), mapping=mapping)

    async def claim(
        self, request_id: str, new_state: RequestState, decider: str, now: datetime
    ) -> Claim:
        """Atomically move a pending, unexpired request to new_state on behalf of decider."""
        lease = (now + self.lease).timestamp() if new_state is RequestState.APPROVING else 0
        with failing_closed():
            verdict, state, decided_by = await self._claim(
                keys=[redis_keys.approval(request_id)],
                args=[new_state.value, decider, now.timestamp(), now.isoformat(), lease],
            )
        return Claim(ClaimVerdict(verdict), state, decided_by)

    async def close(self, request: ApprovalRequest, state: RequestState, outcome: str) -> None:
        """Record the final state and free the endpoint for new requests."""
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                final: dict[FieldT, EncodableT] = {"state": state.value, "outcome": outcome}
                if request.decision_reason:
                    final["decision_reason"] = request.decision_reason
                pipe.hset(redis_keys.approval(request.id), mapping=final)
                pipe.delete(
                    redis_keys.open_approval(
                        request.project, request.endpoint_uid, request.action.value
                    )
                )
                pipe.zrem(redis_keys.approvals_waiting(request.project), request.id)
                await pipe.execute()


def _to_hash(request: ApprovalRequest) -> dict[FieldT, EncodableT]:
    return {key: str(value) for key, value in request.model_dump(mode="json").items()}
