"""Records as layouts 1 and 2 of the bot kept them (one index of each kind, keys tagged by
endpoint): what an upgrade test writes before the bot of today starts on that Redis."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from bot.models import Hold


def key_of(kind: str, project: str, uid: str) -> str:
    """An endpoint's record (`hold`, `inflight`, `own-write`) as layouts 1 and 2 named it."""
    return f"convoy-bot:{kind}:{{{project}:{uid}}}"


async def write_hold(client: aioredis.Redis, hold: Hold, now: datetime, lead: timedelta) -> None:
    """A hold, its index entry, and its timer and reminder when it has a due time."""
    fields: dict[FieldT, EncodableT] = {k: str(v) for k, v in hold.model_dump().items()}
    await client.hset(key_of("hold", hold.project, hold.uid), mapping=fields)
    await client.sadd("convoy-bot:holds", f"{hold.project}|{hold.uid}")
    due = hold.resumes_at
    if due is not None:
        await client.zadd("convoy-bot:timers", {hold.timer: due.timestamp()})
        if due - lead > now:
            await client.zadd("convoy-bot:reminders", {hold.timer: (due - lead).timestamp()})
