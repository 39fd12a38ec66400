"""Each installation's bot token: cached per process, refreshed ahead of expiry by one replica.

Bolt's own authorize calls `auth.test` on every request unless told to cache, and its token
rotation takes no lock: replicas near expiry each spend the one-use refresh token, all but
the first are refused, and their events are dropped ("installation no longer available").
Here a token is read from the store at most once per CACHE_SECONDS per process (Slack is
never asked), and a token within ROTATE_AHEAD of its expiry is refreshed under one Redis
lock per installation: one replica refreshes, the others wait for the new token, and all
keep using the old one (still valid until it expires) if Slack does not answer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass

from slack_sdk.errors import SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

from bot import redis_keys
from bot.metrics import Metrics
from bot.store import Store, failing_closed
from bot.tenancy import Workspace
from bot.workspaces.installations import RedisInstallationStore

logger = logging.getLogger(__name__)

CACHE_SECONDS = 30.0  # how stale a process's copy of an installation may be
ROTATE_AHEAD_MINUTES = 120  # Slack's tokens live 12 hours; refresh in their last two
ROTATION_LOCK_MS = 30_000  # longer than one oauth.v2.access call (its client's timeout)
WAIT_FOR_ROTATION_SECONDS = 15.0

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class _Cached:
    bot: Bot | None
    read_at: float


class WorkspaceTokens:
    """The bot token of the workspace a piece of work serves."""

    def __init__(
        self,
        store: RedisInstallationStore,
        redis: Store,
        rotator: AsyncTokenRotator | None,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._redis = redis
        self._rotator = rotator
        self._metrics = metrics
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._release = redis.register_script(_RELEASE)
        store.on_delete.append(self.forget)

    async def bot(self, workspace: Workspace) -> Bot | None:
        """The installation's bot (its token fresh), or None when it is not installed."""
        ids = _ids(workspace)
        cached = self._cache.get(ids)
        if cached is not None and time.monotonic() - cached.read_at < CACHE_SECONDS:
            self._metrics.installation_lookups.labels("cache").inc()
            found = cached.bot
        else:
            self._metrics.installation_lookups.labels("store").inc()
            found = await self._find(ids)
            self._cache[ids] = _Cached(found, time.monotonic())
        if found is not None and self._rotator is not None and _due(found):
            found = await self._rotate(ids, found)
            self._cache[ids] = _Cached(found, time.monotonic())
        return found

    async def token(self, workspace: Workspace) -> str | None:
        bot = await self.bot(workspace)
        return bot.bot_token if bot is not None else None

    def forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        """This process's copy of an installation deleted (uninstalled, revoked)."""
        self._cache.pop((enterprise_id or "", team_id or ""), None)

    async def _find(self, ids: tuple[str, str]) -> Bot | None:
        enterprise_id, team_id = ids
        return await self._store.async_find_bot(
            enterprise_id=enterprise_id or None,
            team_id=team_id or None,
            is_enterprise_install=not team_id,
        )

    async def _rotate(self, ids: tuple[str, str], bot: Bot) -> Bot | None:
        """One replica refreshes; the others wait for its token. Until then (or if Slack
        refuses) the old token serves: it is refreshed well before it expires."""
        assert self._rotator is not None
        lock = redis_keys.installation_rotating(ids[0] or None, ids[1] or None)
        mine = secrets.token_hex(8)
        deadline = time.monotonic() + WAIT_FOR_ROTATION_SECONDS
        while True:
            with failing_closed():
                taken = await self._redis.set(lock, mine, nx=True, px=ROTATION_LOCK_MS)
            if taken:
                try:
                    return await self._refresh(ids, bot)
                finally:
                    with failing_closed():
                        await self._release(keys=[lock], args=[mine])
            await asyncio.sleep(0.05)
            current = await self._find(ids)
            if current is None or not _due(current) or time.monotonic() > deadline:
                return current or bot

    async def _refresh(self, ids: tuple[str, str], bot: Bot) -> Bot | None:
        assert self._rotator is not None
        current = await self._find(ids)  # another replica may have refreshed it just now
        if current is None or not _due(current):
            return current
        try:
            refreshed = await self._rotator.perform_bot_token_rotation(
                bot=current, minutes_before_expiration=ROTATE_AHEAD_MINUTES
            )
        except SlackTokenRotationError as exc:
            self._metrics.token_rotations.labels("failed").inc()
            error = getattr(getattr(exc, "api_error", None), "response", {}) or {}
            logger.error(
                "refreshing the bot token of installation %s failed (%s); the current one "
                "serves until it expires",
                ":".join(i or "-" for i in ids),
                error.get("error", "no answer") if isinstance(error, dict) else "no answer",
            )
            return current
        if refreshed is None:
            return current
        await self._store.async_save_bot(refreshed)
        self._metrics.token_rotations.labels("ok").inc()
        logger.info("refreshed the bot token of installation %s", ":".join(i or "-" for i in ids))
        return refreshed


def _ids(workspace: Workspace) -> tuple[str, str]:
    """The installation serving a workspace: an org-wide one by its enterprise alone."""
    installation = workspace.installation
    return (installation.enterprise_id, installation.team_id)


def _due(bot: Bot) -> bool:
    expires_at = bot.bot_token_expires_at
    return (
        bot.bot_refresh_token is not None
        and expires_at is not None
        and expires_at < time.time() + ROTATE_AHEAD_MINUTES * 60
    )
