"""The Convoy projects one bot serves: who they are, where their API is, and their keys.

A project's identity is its (API base URL, project id): its `scope`, which keys every piece
of its state in Redis (locks, holds, timers, approvals, roles, audit), so that two aliases of
one Convoy project share one lock, and two projects with the same endpoint uid never share
anything. The alias is only its name in chat.

Projects come from the `CONVOY_*` variables (one, named by CONVOY_PROJECT_ALIAS) and from
Redis (`convoy-bot projects add`), where each API key is encrypted with Fernet under
CONVOY_BOT_SECRET_KEY (several comma-separated keys rotate: the first encrypts, all
decrypt). A key is never printed, logged, exported or shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from bot import redis_keys
from bot.errors import InvalidInput
from bot.store import failing_closed

WebhookDetail = Literal["full", "status", "off"]
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def normalize_api_url(url: str) -> str:
    """The one spelling of an API base URL (`https://us.getconvoy.cloud/api`), from which a
    project's identity is made: every spelling of one URL must give one identity (else one
    project gets two locks, and two pauses at once send two toggles).

    Parsed as a browser does (WHATWG, the parser pydantic uses for CONVOY_API_URL too): the
    scheme and host lower-cased, an international host in its `xn--` form, the default port
    dropped, `.` and `..` resolved; then percent escapes upper-cased and trailing slashes
    dropped. A URL with a user, a password, a query or a fragment is refused: the scope would
    ignore them, so two different URLs would share one identity (and a password would be kept
    in plain text)."""
    try:
        parsed = _HTTP_URL.validate_python(url.strip())
    except ValidationError:
        # Not echoed: a URL can hold a password.
        raise InvalidInput(
            "The API URL is not an http(s) URL (for example `https://us.getconvoy.cloud/api`). "
            "Nothing was changed."
        ) from None
    if parsed.username or parsed.password or parsed.query or parsed.fragment:
        raise InvalidInput(
            "The API URL must be only a scheme, host, port and path: no user, password, "
            "`?query` or `#fragment`. Nothing was changed."
        )
    port = f":{parsed.port}" if parsed.port != _DEFAULT_PORTS[parsed.scheme] else ""
    path = _PERCENT_ESCAPE.sub(lambda m: m[0].upper(), parsed.path or "").rstrip("/")
    return f"{parsed.scheme}://{parsed.host}{port}{path}"


def scope_of(project_id: str, api_url: str) -> str:
    """`id@host[:port]/path` of a canonical API URL, spelled as it always was (so no stored
    state moves): the port is written unless it is the scheme's default, and the scheme is
    left out. `http://h/api` and `https://h/api` are then one identity, which is safe: a
    Convoy project id is a ULID, so one id at one host and path is one project."""
    parts = urlsplit(api_url)
    return f"{project_id}@{parts.netloc}{parts.path}"


_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")


def check_alias(alias: str) -> str:
    if not _ALIAS.match(alias):
        raise InvalidInput(
            f"`{alias[:40]}` is not a project alias: use lower-case letters, digits, `-` and "
            "`_`, at most 40 characters."
        )
    return alias


class Project(BaseModel):
    """One Convoy project as the bot knows it (never its key)."""

    model_config = ConfigDict(frozen=True)

    alias: str
    api_url: str
    project_id: str
    webhook_detail: WebhookDetail = "full"  # what the endpoint's own Slack webhook is told
    key_env: str = ""  # where its key came from, for `projects export` ("" when unknown)

    @field_validator("api_url")
    @classmethod
    def _one_spelling(cls, url: str) -> str:
        # Also for projects stored before URLs were canonical: their identity is the same
        # as the one another spelling of their URL gets.
        try:
            return normalize_api_url(url)
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc

    @field_validator("project_id")
    @classmethod
    def _plain_id(cls, project_id: str) -> str:
        # `@` and `/` would let one (id, URL) pair spell another's scope.
        if not _PROJECT_ID.match(project_id):
            raise ValueError(
                "a Convoy project id is letters, digits, `-` and `_` (for example 01H2…)"
            )
        return project_id

    @property
    def scope(self) -> str:
        """The project's identity in Redis: its id at its API (`01H…@us.getconvoy.cloud/api`)."""
        return scope_of(self.project_id, self.api_url)


@dataclass(frozen=True)
class KeyedProject:
    """A project with its API key, in memory only."""

    project: Project
    api_key: SecretStr


class StoredProject(Project):
    """A project as kept in Redis: its key encrypted."""

    key_token: str


class KeyBoxError(ValueError):
    """The secret key cannot decrypt a stored API key (wrong or rotated away)."""


class KeyBox:
    """Fernet encryption of API keys at rest; the first secret key encrypts, all decrypt."""

    def __init__(self, secret_keys: list[SecretStr]) -> None:
        try:
            self._fernet = MultiFernet([Fernet(k.get_secret_value()) for k in secret_keys])
        except (ValueError, TypeError) as exc:
            raise KeyBoxError(
                "CONVOY_BOT_SECRET_KEY must be Fernet keys (32 url-safe base64 bytes each, "
                "comma-separated); make one with `convoy-bot projects new-secret-key`"
            ) from exc

    def seal(self, api_key: SecretStr) -> str:
        return self._fernet.encrypt(api_key.get_secret_value().encode()).decode()

    def open(self, token: str) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise KeyBoxError("cannot decrypt") from exc


def new_secret_key() -> str:
    return Fernet.generate_key().decode()


class ProjectStore:
    """Projects added with `convoy-bot projects add`, in one Redis hash by alias."""

    def __init__(self, redis: aioredis.Redis, box: KeyBox | None) -> None:
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
