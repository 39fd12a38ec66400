"""Slack user group membership, looked up through Slack and cached briefly in Redis."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import redis_keys, tenancy
from bot.slack_client import SlackCalls
from bot.store import Store, failing_closed, slot_transaction

logger = logging.getLogger(__name__)

CACHE_TTL = timedelta(minutes=5)
_LOADED = ""  # a member no Slack user id can be: marks the cache as filled, even for empty groups


class SlackGroupDirectory:
    """`contains` answers from Redis when it can, else asks Slack's usergroups.users.list."""

    def __init__(self, redis: Store, calls: SlackCalls) -> None:
        self._redis = redis
        self._calls = calls

    async def contains(self, group_id: str, user_id: str) -> bool:
        key = redis_keys.group_members(group_id)
        with failing_closed():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.sismember(key, _LOADED)
                pipe.sismember(key, user_id)
                loaded, member = await pipe.execute()
        if loaded:
            return bool(member)
        members = await self._fetch(group_id)
        if members is None:
            return False  # Slack did not say: fail closed, and do not cache the silence
        with failing_closed():
            async with slot_transaction(self._redis, key) as pipe:
                pipe.delete(key)
                pipe.sadd(key, _LOADED, *members)
                pipe.expire(key, CACHE_TTL)
                await pipe.execute()
        return user_id in members

    async def _fetch(self, group_id: str) -> list[str] | None:
        workspace = tenancy.current()
        # An org-wide token must say which of the org's workspaces the group is in.
        where = {"team_id": workspace.team_id} if workspace and workspace.org_wide else {}
        answer = await self._calls.call(
            "", self._calls.slack.usergroups_users_list, usergroup=group_id, **where
        )
        if not answer.ok:
            return None
        return [str(user) for user in answer.data.get("users") or []]
