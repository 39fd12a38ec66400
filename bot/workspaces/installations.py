"""Where a bot installed in many workspaces keeps its installations: Redis, tokens sealed.

Slack ships installation stores for files, SQL and S3, none for Redis; this one is Bolt's
`AsyncInstallationStore` over the bot's Redis (one server or a cluster), with every record
(the bot's token and refresh token, the installer's) encrypted with CONVOY_BOT_SECRET_KEY, as
stored Convoy API keys are. An org-wide install is kept under its enterprise alone: it serves
every workspace of the org, and `is_enterprise_install` finds it from any of them.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot import redis_keys
from bot.keybox import KeyBox, KeyBoxError
from bot.store import Store, failing_closed
from bot.tenancy import Workspace

logger = logging.getLogger(__name__)

STATE_TTL_SECONDS = 10 * 60  # an install started and not finished within ten minutes expires


@dataclass(frozen=True)
class Installed:
    """One installation as `convoy-bot workspaces list` shows it: never a token."""

    enterprise_id: str
    team_id: str
    org_wide: bool
    name: str
    installed_at: float
    installer: str

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.enterprise_id, self.team_id, self.org_wide)


def _ids(
    enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
) -> tuple[str | None, str | None]:
    """An org-wide install is found by its enterprise alone, whichever workspace asks."""
    return (enterprise_id or None, None if is_enterprise_install else team_id or None)


def _field(enterprise_id: str | None, team_id: str | None) -> str:
    return f"{enterprise_id or '-'}:{team_id or '-'}"


class RedisInstallationStore(AsyncInstallationStore):
    """Bolt's installation store (all seven methods) over Redis, sealed at rest."""

    def __init__(self, redis: Store, box: KeyBox) -> None:
        self._redis = redis
        self._box = box
        # Told of each installation whose bot token is deleted (a cache forgets it).
        self.on_delete: list[Callable[[str | None, str | None], None]] = []

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_save(self, installation: Installation) -> None:
        e_id, t_id = installation.enterprise_id, installation.team_id
        if installation.is_enterprise_install:
            t_id = None
        sealed = self._seal(installation.__dict__)
        with failing_closed():
            await self._redis.set(redis_keys.installation_installer(e_id, t_id, None), sealed)
            if installation.user_id:
                key = redis_keys.installation_installer(e_id, t_id, installation.user_id)
                await self._redis.set(key, sealed)
                await self._redis.sadd(
                    redis_keys.installation_installers(e_id, t_id), installation.user_id
                )
        await self.async_save_bot(installation.to_bot())
        org_wide = bool(installation.is_enterprise_install)
        summary = {
            "enterprise_id": e_id or "",
            "team_id": t_id or "",
            "org_wide": org_wide,
            "name": (installation.enterprise_name if org_wide else installation.team_name) or "",
            "installed_at": installation.installed_at,
            "installer": installation.user_id or "",
        }
        workspace = Workspace(e_id or "", t_id or "", org_wide)
        with failing_closed():
            await self._redis.hset(
                redis_keys.installations(), _field(e_id, t_id), json.dumps(summary)
            )
            await self._redis.sadd(redis_keys.workspaces(), workspace.ref)

    async def async_save_bot(self, bot: Bot) -> None:
        if bot.bot_token is None:
            return
        e_id, t_id = _ids(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)
        with failing_closed():
            await self._redis.set(redis_keys.installation_bot(e_id, t_id), self._seal(bot.__dict__))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        e_id, t_id = _ids(enterprise_id, team_id, is_enterprise_install)
        with failing_closed():
            sealed = await self._redis.get(redis_keys.installation_bot(e_id, t_id))
        data = self._open(sealed)
        return Bot(**data) if data is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        e_id, t_id = _ids(enterprise_id, team_id, is_enterprise_install)
        with failing_closed():
            sealed = await self._redis.get(redis_keys.installation_installer(e_id, t_id, user_id))
        data = self._open(sealed)
        if data is None:
            return None
        installation = Installation(**data)
        # The bot's token may have been refreshed since this installer's record was written.
        bot = await self.async_find_bot(
            enterprise_id=e_id, team_id=t_id, is_enterprise_install=is_enterprise_install
        )
        if bot is not None and bot.bot_token != installation.bot_token:
            installation.bot_id = bot.bot_id
            installation.bot_user_id = bot.bot_user_id
            installation.bot_token = bot.bot_token
            installation.bot_scopes = bot.bot_scopes
            installation.bot_refresh_token = bot.bot_refresh_token
            installation.bot_token_expires_at = bot.bot_token_expires_at
        return installation

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with failing_closed():
            await self._redis.delete(redis_keys.installation_bot(enterprise_id, team_id))
        for forget in self.on_delete:
            forget(enterprise_id, team_id)
        logger.info("deleted the bot token of installation %s", _field(enterprise_id, team_id))

    async def async_delete_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
    ) -> None:
        with failing_closed():
            await self._redis.delete(
                redis_keys.installation_installer(enterprise_id, team_id, user_id)
            )
            if user_id is None:
                await self._redis.hdel(redis_keys.installations(), _field(enterprise_id, team_id))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """An uninstall: every token of the installation goes (the workspace's other state
        stays until `convoy-bot workspaces purge`)."""
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)
        installers = redis_keys.installation_installers(enterprise_id, team_id)
        with failing_closed():
            users = await self._redis.smembers(installers)
            keys = [
                redis_keys.installation_installer(enterprise_id, team_id, _text(u)) for u in users
            ]
            await self._redis.delete(*keys, installers)
        logger.info("installation %s removed (uninstalled)", _field(enterprise_id, team_id))

    async def installed(self) -> list[Installed]:
        """Every installation, for the CLI and the scheduler (no tokens)."""
        with failing_closed():
            rows = await self._redis.hgetall(redis_keys.installations())
        found = [Installed(**json.loads(value)) for value in rows.values()]
        return sorted(found, key=lambda item: item.installed_at)

    async def known_workspaces(self) -> list[Workspace]:
        """The workspaces (and orgs) that have state: installed, or uninstalled and not yet
        purged (their timed pauses still resume)."""
        with failing_closed():
            keys = await self._redis.smembers(redis_keys.workspaces())
        return [Workspace.from_ref(_text(ref)) for ref in sorted(keys)]

    async def purge(self, workspace: Workspace) -> int:
        """Delete every key of the workspace's state, and forget it; how many keys went."""
        deleted = 0
        with failing_closed():
            async for key in self._redis.scan_iter(
                match=redis_keys.workspace_state(workspace.key), count=1000
            ):
                deleted += int(await self._redis.unlink(key))
            await self._redis.srem(redis_keys.workspaces(), workspace.installation.ref)
        logger.info("purged workspace %s: %d keys", workspace.key, deleted)
        return deleted

    def _seal(self, record: dict[str, Any]) -> str:
        return self._box.seal(SecretStr(json.dumps(record)))

    def _open(self, sealed: bytes | str | None) -> dict[str, Any] | None:
        if sealed is None:
            return None
        try:
            data = json.loads(self._box.open(_text(sealed)).get_secret_value())
        except KeyBoxError:
            # Not an installation this key can read: the workspace is told to reinstall.
            logger.error("an installation cannot be decrypted with CONVOY_BOT_SECRET_KEY")
            return None
        return data if isinstance(data, dict) else None


def _text(value: bytes | str) -> str:
    """The store decodes responses; its type says it might not."""
    return value.decode() if isinstance(value, bytes) else value


class RedisOAuthStateStore(AsyncOAuthStateStore):
    """The OAuth `state` of installs under way: issued once, spent once, gone in ten minutes
    (shared by every replica, so the redirect may reach another one)."""

    def __init__(self, redis: Store) -> None:
        self._redis = redis

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(24)
        with failing_closed():
            await self._redis.set(redis_keys.oauth_state(state), "1", ex=STATE_TTL_SECONDS)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 128:
            return False
        with failing_closed():
            return bool(await self._redis.getdel(redis_keys.oauth_state(state)))
