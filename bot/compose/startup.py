"""What start-up says: one line for a setting it cannot run with, and a log that names where
everything is (the mode, the Slack workspace, each Convoy project, Redis), never a secret."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from pydantic import ValidationError

from bot.project import Project
from bot.redis_url import cluster_nodes, is_cluster_url
from bot.settings import Settings
from bot.slack_identity import SlackState

logger = logging.getLogger("convoy_bot")


class StartupError(Exception):
    """A problem that stops start-up, explained in one line."""


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each missing or malformed variable (all at once), never its value."""
    missing: list[str] = []
    malformed: list[str] = []
    whole: list[str] = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        why = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            missing.append(name if why == "Field required" else f"{name} ({why})")
        elif name:
            malformed.append(f"{name} ({why})")
        else:
            whole.append(why)
    parts = whole
    if missing:
        parts.append("missing required setting " + ", ".join(missing))
    if malformed:
        parts.append("malformed setting " + "; ".join(malformed))
    return "convoy-bot: " + "; ".join(parts)


def refused_token_line(state: SlackState) -> str:
    return (
        f"convoy-bot: Slack refused SLACK_BOT_TOKEN ({state.detail}): copy the Bot User OAuth "
        "Token (xoxb-…) again from the app's OAuth & Permissions page, or reinstall the app"
    )


def refused_app_token_line(code: str) -> str:
    return (
        f"convoy-bot: Slack refused SLACK_APP_TOKEN (apps.connections.open answered {code}): "
        "create an app-level token with the connections:write scope (Basic Information, "
        "App-Level Tokens) and set it again"
    )


def log_mode(settings: Settings) -> None:
    where = f"http://{settings.host}:{settings.port}"
    if settings.socket_mode:
        logger.info(
            "mode: Socket Mode (SLACK_APP_TOKEN is set): Slack's requests come over a "
            "websocket; /healthz, /readyz, /status and /metrics on %s",
            where,
        )
    else:
        logger.info("mode: HTTP: Slack's requests at %s/slack/events", where)


def log_slack(state: SlackState) -> None:
    if state.outcome == "ok":
        logger.info("Slack: %s", state.detail)
    else:
        logger.warning(
            "Slack: %s; starting anyway, commands are answered once Slack is back (see /status)",
            state.detail,
        )


def log_projects(projects: list[Project], env_alias: str | None) -> None:
    """Each project's URL and id: a typo in a variable's name or value shows here."""
    for project in projects:
        from_env = project.alias == env_alias
        source = "key from CONVOY_API_KEY" if from_env else "key stored, encrypted"
        logger.info(
            "project %s: Convoy %s, project %s (%s)",
            project.alias,
            project.api_url,
            project.project_id,
            source,
        )
        hint = api_url_hint(project.api_url)
        if hint:
            logger.warning("project %s: %s", project.alias, hint)


def api_url_hint(api_url: str) -> str:
    """Why a Convoy URL without `/api` will not work, or "" when it ends as Convoy's do."""
    if urlsplit(api_url).path.rstrip("/").endswith("/api"):
        return ""
    suggested = api_url.rstrip("/") + "/api"
    return (
        f"the Convoy URL {api_url} does not end in /api: Convoy serves its API under /api "
        f"(e.g. https://us.getconvoy.cloud/api), so every call would miss it. Did you mean "
        f"{suggested}?"
    )


def describe_redis(url: str) -> str:
    """Where Redis is, without the password a URL may carry."""
    if is_cluster_url(url):
        nodes = ", ".join(f"{host}:{port}" for host, port in cluster_nodes(url))
        return f"a Redis Cluster reached through {nodes}"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"a unix socket at {parts.path}"
    host = parts.hostname or "localhost"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # redis-py refuses it on connecting, with its own message
        port = ""
    database = parts.path.lstrip("/") or "0"
    return f"{parts.scheme}://{host}{port} database {database}"
