"""The bot's log: text or one JSON object per line (LOG_FORMAT), with the request's context.

The context (command, user, channel, project, endpoint, then outcome and duration) lives in a
context variable: asyncio copies it into the task that does a request's work, so every line
logged on the way carries it without being passed around. No field ever holds a secret: ids,
aliases and uids only, and `describe_failure` names hosts, never URLs (a webhook URL's path
is its secret).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError

from bot.errors import BotError, ConvoyError

_context: ContextVar[dict[str, object]] = ContextVar("convoy_bot_log_context", default={})  # noqa: B039  # never mutated: each change sets a new dict


def begin(**fields: object) -> None:
    """A request starts: its context is these fields only (nothing of an earlier request)."""
    _context.set({key: value for key, value in fields.items() if value not in ("", None)})


def note(**fields: object) -> None:
    """Add to the current request's context (its project, its endpoint, its outcome)."""
    added = {key: value for key, value in fields.items() if value not in ("", None)}
    _context.set({**_context.get(), **added})


def context() -> dict[str, object]:
    return dict(_context.get())


class _ContextFilter(logging.Filter):
    """Puts the request's context on each record, for either format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = context()
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message [key=value …]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: object) -> str:
        return ""  # no traceback, even if a library logs one: its frames may hold secrets

    def formatStack(self, stack_info: str) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields: dict[str, object] = getattr(record, "context", {})
        if not fields:
            return line
        return line + " [" + " ".join(f"{key}={value}" for key, value in fields.items()) + "]"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the request's context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "context", {}))
        # No traceback, even if a library logs one: its frames may hold secrets.
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_ContextFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and an endpoint's webhook URL is a secret.
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def describe_failure(exc: BaseException) -> str:
    """What failed, for a log line: the operation, the host, Slack's error code or the HTTP
    status, as far as the exception knows them; never a URL's path, a token or a body."""
    if isinstance(exc, SlackApiError):
        method = urlsplit(str(getattr(exc.response, "api_url", ""))).path.rsplit("/", 1)[-1]
        code = exc.response.get("error") or f"HTTP {exc.response.status_code}"
        return f"Slack {method or 'call'} answered {code}"
    if isinstance(exc, ConvoyError):
        return f"{type(exc).__name__}: Convoy {exc.call or 'call'} answered {exc.status or '?'}"
    if isinstance(exc, BotError):
        return type(exc).__name__
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.host}"
    if isinstance(exc, httpx.RequestError):
        try:
            host = exc.request.url.host
        except RuntimeError:  # an error raised before its request was built
            return type(exc).__name__
        return f"{type(exc).__name__} talking to {host}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status} from {exc.request_info.url.host}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{type(exc).__name__} talking to {exc.host}"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return type(exc).__name__
