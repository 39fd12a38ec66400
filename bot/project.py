"""What one Convoy project is to the bot: an alias, an API base URL, a project id, and the
identity made of the last two.

A project's identity is its (API base URL, project id): its `scope`, which keys every piece
of its state in Redis (locks, holds, timers, approvals, roles, audit), so that two aliases of
one Convoy project share one lock, and two projects with the same endpoint uid never share
anything. The alias is only its name in chat. Every spelling of one URL is one identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from bot.errors import InvalidInput

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
