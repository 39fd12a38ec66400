"""The Convoy projects added with `convoy-bot projects add`, kept in Redis with their API keys
encrypted (bot.keybox). A key is never printed, logged, exported or shown.

Projects also come from the `CONVOY_*` variables (one, named by CONVOY_PROJECT_ALIAS): the
catalog (bot.projects.catalog) serves both.
"""

from __future__ import annotations

from pydantic import SecretStr, ValidationError

from bot import redis_keys
from bot.errors import InvalidInput
from bot.keybox import KeyBox, KeyBoxError
from bot.project import KeyedProject, Project
from bot.store import Store, failing_closed


class StoredProject(Project):
    """A project as kept in Redis: its key encrypted."""

    key_token: str


class ProjectStore:
    """Projects added with `convoy-bot projects add`, in one Redis hash by alias."""

    def __init__(self, redis: Store, box: KeyBox | None) -> None:
        self._redis = redis
        self._box = box

    async def add(self, project: Project, api_key: SecretStr) -> None:
        if self._box is None:
            raise InvalidInput(
                "Set CONVOY_BOT_SECRET_KEY first: API keys are stored encrypted with it "
                "(make one with `convoy-bot projects new-secret-key`)."
            )
        stored = StoredProject(**project.model_dump(), key_token=self._box.seal(api_key))
        with failing_closed():
            await self._redis.hset(redis_keys.projects(), project.alias, stored.model_dump_json())

    async def remove(self, alias: str) -> bool:
        with failing_closed():
            return bool(await self._redis.hdel(redis_keys.projects(), alias))

    async def projects(self) -> list[Project]:
        """Every stored project, without keys (for listing and export)."""
        return [_keyless(stored) for stored in await self._stored()]

    async def keyed(self) -> list[KeyedProject]:
        """Every stored project with its key; KeyBoxError if a key cannot be decrypted."""
        return [KeyedProject(_keyless(s), self._open(s)) for s in await self._stored()]

    async def key_of(self, alias: str) -> SecretStr:
        """One stored project's key; KeyBoxError if it cannot be decrypted."""
        for stored in await self._stored():
            if stored.alias == alias:
                return self._open(stored)
        raise KeyBoxError(f"project {alias!r} is not stored")

    def _open(self, stored: StoredProject) -> SecretStr:
        if self._box is None:
            raise KeyBoxError(
                f"project {stored.alias!r} is stored but CONVOY_BOT_SECRET_KEY is not set"
            )
        try:
            return self._box.open(stored.key_token)
        except KeyBoxError as exc:
            raise KeyBoxError(
                f"CONVOY_BOT_SECRET_KEY cannot decrypt the API key of project {stored.alias!r} "
                "(a wrong key, or the key it was stored with was rotated away)"
            ) from exc

    async def _stored(self) -> list[StoredProject]:
        with failing_closed():
            raw = await self._redis.hgetall(redis_keys.projects())
        found = []
        for _, value in sorted(raw.items()):
            try:
                found.append(StoredProject.model_validate_json(value))
            except ValidationError:
                continue  # unreadable: never guess at a project
        return found


def _keyless(stored: StoredProject) -> Project:
    return Project(**stored.model_dump(exclude={"key_token"}))
