"""The bot's settings, read from the environment and `.env` (SPEC §7)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.connection import parse_url

from bot.background import WORK_SLOTS
from bot.durations import parse_duration
from bot.errors import InvalidInput
from bot.keybox import KeyBox
from bot.project import KeyedProject, Project, check_alias, normalize_api_url
from bot.redis_url import CLUSTER_SCHEMES, cluster_nodes, is_cluster_url


def _secret_or_none(value: SecretStr | None, needed: bool, why: str) -> SecretStr | None:
    """A blank secret is unset, and reported missing when it is `needed`."""
    if value is not None and value.get_secret_value().strip():
        return value
    if needed:
        # A field check, not a model check: it is named with every other missing setting
        # (and the setting is named, never its value).
        raise PydanticCustomError("missing", why)
    return None


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class StoreSettings(BaseSettings):
    """What the stores and the CLI need: Redis, bootstrap admins, and the projects (no Slack)."""

    # An empty line (`SLACK_SIGNING_SECRET=`, as copied from .env.example) means "not set":
    # a required setting is then reported missing, an optional one takes its default.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

    redis_url: str | None = None
    # Installable in many workspaces (README, "Installing in many workspaces"): with the app's
    # client id (and secret) the bot serves every workspace that installs it through OAuth,
    # each workspace's state apart. Without (the default), one workspace: SLACK_BOT_TOKEN's.
    slack_client_id: str | None = None
    convoy_bot_admins: Annotated[list[str], NoDecode] = []
    convoy_bot_data_dir: Path = Path(".convoy-bot")

    # One project from the environment (the others are stored with `convoy-bot projects`).
    convoy_api_url: AnyHttpUrl = AnyHttpUrl("https://us.getconvoy.cloud/api")
    convoy_project_id: str | None = None
    convoy_api_key: SecretStr | None = Field(default=None, validate_default=True)
    convoy_project_alias: str = "default"
    convoy_project_webhook_detail: Literal["full", "status", "off"] = "full"
    # Fernet keys (comma-separated) that encrypt stored API keys: the first encrypts.
    convoy_bot_secret_key: Annotated[list[SecretStr], NoDecode] = []
    # The whole of one Convoy call: connecting, sending and reading the reply.
    convoy_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    _split_admins = field_validator("convoy_bot_admins", mode="before")(_split_commas)
    _split_secret_keys = field_validator("convoy_bot_secret_key", mode="before")(_split_commas)

    @field_validator("slack_client_id", mode="before")
    @classmethod
    def _blank_client_id(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("convoy_project_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("convoy_api_key")
    @classmethod
    def _key_with_its_project(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        needed = bool(info.data.get("convoy_project_id"))
        return _secret_or_none(value, needed, "required with CONVOY_PROJECT_ID")

    @field_validator("convoy_project_alias")
    @classmethod
    def _alias_shape(cls, value: str) -> str:
        try:
            return check_alias(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc

    def env_project(self) -> KeyedProject | None:
        """The project the CONVOY_* variables name, with its key; None without one."""
        if self.convoy_project_id is None or self.convoy_api_key is None:
            return None
        project = Project(
            alias=self.convoy_project_alias,
            api_url=normalize_api_url(str(self.convoy_api_url)),
            project_id=self.convoy_project_id,
            webhook_detail=self.convoy_project_webhook_detail,
            key_env="CONVOY_API_KEY",
        )
        return KeyedProject(project, self.convoy_api_key)

    def secret_box(self) -> KeyBox | None:
        """What encrypts and decrypts stored API keys; None without CONVOY_BOT_SECRET_KEY.
        KeyBoxError when a key is not a Fernet key."""
        return KeyBox(self.convoy_bot_secret_key) if self.convoy_bot_secret_key else None

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("redis://", "rediss://", "unix://", *CLUSTER_SCHEMES)
        ):
            raise ValueError(
                "must start with redis://, rediss://, unix:// or (a cluster) redis+cluster://"
            )
        if value and is_cluster_url(value):
            cluster_nodes(value)  # ValueError: one line at start-up
        elif value:
            # Parsed here as redis-py will parse it, so a port out of range or a broken IPv6
            # host is one line at start-up, not a traceback on the first connection.
            parse_url(value)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
        return value or None


class Settings(StoreSettings):
    """Every variable the bot reads; secrets stay `SecretStr` so they never print."""

    # With SLACK_CLIENT_ID (StoreSettings), the app's client secret: installable in many
    # workspaces through OAuth, and SLACK_BOT_TOKEN is not used.
    slack_client_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = Field(default=None, validate_default=True)
    # Where the OAuth flow sends the installer (Slack's own page; a test's fake Slack).
    slack_oauth_authorize_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/oauth/v2/authorize")
    # The redirect URL registered in the app's OAuth settings (Slack uses its only one if unset).
    slack_oauth_redirect_url: AnyHttpUrl | None = None
    # Before the signing secret: whether that one is needed depends on it.
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = Field(default=None, validate_default=True)
    slack_api_url: AnyHttpUrl = AnyHttpUrl("https://slack.com/api/")

    # Not in SPEC §7's table: tuning knobs with safe defaults.
    # After a write whose answer was lost, how long until the bot reads Convoy to settle it.
    convoy_bot_settle_seconds: float = Field(default=20.0, gt=0, le=600)

    slack_webhook_url_prefixes: Annotated[list[str], NoDecode] = ["https://hooks.slack.com/"]
    # Longer than the worst case under the lock: read, write and read-back, each bounded by
    # CONVOY_TIMEOUT_SECONDS.
    convoy_bot_lock_ttl_seconds: float = Field(default=60.0, gt=0)

    convoy_bot_approval_ttl: timedelta = timedelta(minutes=30)
    convoy_bot_changes_per_minute: int = Field(default=10, ge=0)  # per user; 0 = no limit
    convoy_bot_max_pause: timedelta = timedelta(hours=24)
    convoy_bot_reminder_lead: timedelta = timedelta(minutes=5)
    convoy_bot_scheduler_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    # How long work acked before SIGTERM may run on; a change still running is then settled
    # by the next replica (bot.timers.settling).
    convoy_bot_shutdown_grace_seconds: float = Field(default=8.0, ge=0, le=60)
    # Commands, clicks and forms acknowledged and not done yet, at most; beyond, the ack says
    # the bot is busy and nothing is taken on. The default is the work slots
    # (bot.background.WORK_SLOTS): measured, a queue behind them added no throughput, only
    # waiting (end-to-end p99 1,060 against 236 ms under overload; docs/operating.md).
    convoy_bot_max_pending: int = Field(default=WORK_SLOTS, ge=1, le=100_000)
    # The least time between two publishes of one person's App Home board when it changes
    # (Slack allows views.publish about 100 times a minute per workspace).
    convoy_bot_home_refresh_seconds: float = Field(default=5.0, ge=1, le=3600)
    # Keep Slack's rate limits before Slack has to (bot.slack_rate), per workspace and method,
    # shared by replicas through Redis. Off only to measure the bot without Slack's pace.
    convoy_bot_slack_rate_limits: bool = True
    # For tests only: the shared clock adds an offset the test sets in Redis.
    convoy_bot_movable_clock: bool = False

    # Watching (README, "Watching"): how often a bound project is polled, the failure rate (a
    # percentage) that opens a "failing" card, how far below it the rate must fall to end the
    # episode, and whether this replica takes part in polling at all.
    convoy_bot_watch_interval: timedelta = timedelta(seconds=60)
    convoy_bot_alert_failure_rate: float = Field(default=50.0, gt=0, le=100)
    convoy_bot_alert_hysteresis: float = Field(default=10.0, ge=0, lt=100)
    convoy_bot_watch_enabled: bool = True
    # How long a replica's lease on the projects it polls lasts unless renewed (it is renewed
    # every third of it while polling): how soon another replica takes over a crashed one's.
    convoy_bot_watch_lease: timedelta = timedelta(minutes=5)

    host: str = "0.0.0.0"  # noqa: S104  # a server in a container listens on every interface
    port: int = Field(default=3000, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # `json`: one JSON object per line with the request's context (bot.logs); `text` (the
    # default) adds that context in brackets.
    log_format: Literal["text", "json"] = "text"
    # The event loop and the server's HTTP parser: the compiled ones (benchmarked faster,
    # BENCHMARKS.md), or the standard library's loop and uvicorn's pure-Python parser.
    convoy_bot_event_loop: Literal["uvloop", "asyncio"] = "uvloop"
    convoy_bot_http_parser: Literal["httptools", "h11"] = "httptools"

    _split_prefixes = field_validator("slack_webhook_url_prefixes", mode="before")(_split_commas)

    @field_validator(
        "convoy_bot_approval_ttl",
        "convoy_bot_max_pause",
        "convoy_bot_reminder_lead",
        "convoy_bot_watch_interval",
        "convoy_bot_watch_lease",
        mode="before",
    )
    @classmethod
    def _human_duration(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            # Plain seconds, as most tools take them (parsed as such: never an overflow).
            return parse_duration(f"{value.strip()}s") or timedelta(0)
        if isinstance(value, str) and (parsed := parse_duration(value)) is not None:
            return parsed
        return value

    @field_validator("convoy_bot_approval_ttl", "convoy_bot_max_pause")
    @classmethod
    def _positive_ttl(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration such as 30m")
        return value

    @field_validator("convoy_bot_watch_interval")
    @classmethod
    def _watch_interval_range(cls, value: timedelta) -> timedelta:
        # Every poll costs Convoy calls from the project's own budget: not more than one a
        # second, and at least one a day so that a watch never silently stops.
        if not timedelta(seconds=1) <= value <= timedelta(days=1):
            raise ValueError("must be a duration from 1s to 24h, such as 60s or 5m")
        return value

    @field_validator("convoy_bot_watch_lease")
    @classmethod
    def _watch_lease_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=3) <= value <= timedelta(hours=1):
            raise ValueError("must be a duration from 3s to 1h, such as 5m")
        return value

    @property
    def watch_recovered_rate(self) -> float:
        """The failure rate (percent) under which a failing episode ends: the threshold
        less the hysteresis, so that a rate hovering at the threshold does not flap."""
        return max(self.convoy_bot_alert_failure_rate - self.convoy_bot_alert_hysteresis, 0.0)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        many = bool(info.data.get("slack_client_id"))  # its secret is checked with it
        value = _secret_or_none(value, not many, "needed unless SLACK_CLIENT_ID is set")
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @model_validator(mode="after")
    def _many_workspaces_need(self) -> Settings:
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            raise ValueError(
                "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (both: installable in "
                "many workspaces; neither: the one workspace of SLACK_BOT_TOKEN)"
            )
        if self.many_workspaces and not self.convoy_bot_secret_key:
            raise ValueError(
                "installable in many workspaces, the bot keeps their tokens encrypted: set "
                "CONVOY_BOT_SECRET_KEY (make one with `convoy-bot projects new-secret-key`)"
            )
        if self.many_workspaces and self.convoy_project_id:
            raise ValueError(
                "CONVOY_PROJECT_ID names a project for one workspace: installable in many, "
                "each workspace's projects are added with `convoy-bot projects add --workspace`"
            )
        return self

    @property
    def many_workspaces(self) -> bool:
        """Installable through OAuth in many workspaces (the app's client id and secret set)."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @model_validator(mode="after")
    def _lock_outlives_the_work(self) -> Settings:
        # Under one lock the bot reads, then (renewing the lock right before it) writes and
        # reads back: each call ends by CONVOY_TIMEOUT_SECONDS. A lock that ran out mid-way
        # would let another replica read a stale status; the renewal refuses to write then,
        # but the change would be lost, so the lock outlives the calls with room to spare.
        needed = 3 * self.convoy_timeout_seconds + 1
        if self.convoy_bot_lock_ttl_seconds < needed:
            raise ValueError(
                f"malformed setting CONVOY_BOT_LOCK_TTL_SECONDS (must be at least {needed:g}: "
                "three times CONVOY_TIMEOUT_SECONDS, plus one)"
            )
        return self

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret_in_http_mode(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        # Socket Mode needs none; a malformed SLACK_APP_TOKEN is absent from `data` and said
        # already, so the secret is not also called missing.
        needed = "slack_app_token" in info.data and info.data["slack_app_token"] is None
        return _secret_or_none(value, needed, "needed unless SLACK_APP_TOKEN is set")

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def signing_secret(self) -> str:
        """The secret Slack signs requests with ("" in Socket Mode, which needs none)."""
        secret = self.slack_signing_secret
        return secret.get_secret_value() if secret else ""
