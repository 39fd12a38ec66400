"""The composition root: settings -> Redis -> clients -> use cases -> app -> serve, and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict

import redis.asyncio as aioredis
import uvicorn
from pydantic import ValidationError
from redis.exceptions import RedisError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.audit import AuditLog
from bot.clock import SharedClock
from bot.durations import parse_duration
from bot.embedded_redis import EmbeddedRedis
from bot.errors import BotError
from bot.role_admin import CLI_ACTOR, RoleAdmin
from bot.roles import GLOBAL_SCOPE, Role, RoleStore
from bot.settings import Settings, StoreSettings
from bot.wiring import (
    Infrastructure,
    build_app,
    build_infrastructure,
    build_scheduler,
    build_server,
    build_use_cases,
    redis_client,
)

logger = logging.getLogger("convoy_bot")
SHUTDOWN_GRACE_SECONDS = 8.0
EXIT_CONFIG = 2


class GracefulServer(uvicorn.Server):
    """uvicorn that stops on SIGTERM/SIGINT without re-raising the signal afterwards.

    uvicorn re-raises a captured signal once it has shut down, which would kill the process
    before acked work (a pause in flight) is finished and the embedded Redis is stopped.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with stop_signals(lambda: self.handle_exit(signal.SIGTERM, None)):
            yield


@contextlib.contextmanager
def stop_signals(on_signal: Callable[[], None]) -> Iterator[None]:
    """Call on_signal on SIGTERM or SIGINT while the block runs."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


class StartupError(Exception):
    """A problem that stops start-up, explained in one line."""


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each missing or malformed variable, never its value."""
    missing: list[str] = []
    malformed: list[str] = []
    whole: list[str] = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        if item["type"] == "missing":
            missing.append(name)
        elif name:
            malformed.append(f"{name} ({item['msg']})")
        else:
            whole.append(str(item["msg"]).removeprefix("Value error, "))
    parts = whole
    if missing:
        parts.append("missing required setting " + ", ".join(missing))
    if malformed:
        parts.append("malformed setting " + "; ".join(malformed))
    return "convoy-bot: " + "; ".join(parts)


@asynccontextmanager
async def redis_url_for(settings: StoreSettings) -> AsyncIterator[str]:
    """REDIS_URL when set; else the embedded server (reusing one a running bot started)."""
    if settings.redis_url:
        yield settings.redis_url
        return
    embedded = EmbeddedRedis(settings.convoy_bot_data_dir)
    if await _answers(embedded.url):
        yield embedded.url
        return
    logger.info("REDIS_URL is unset: starting an embedded Redis in %s", embedded.data_dir)
    url = await embedded.start()
    try:
        yield url
    finally:
        await embedded.stop()


async def _answers(url: str) -> bool:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def serve(settings: Settings) -> None:
    async with redis_url_for(settings) as url:
        infra = build_infrastructure(settings, url)
        try:
            try:
                await infra.clock.sync()
            except BotError as exc:
                raise StartupError(
                    "convoy-bot: cannot reach Redis at REDIS_URL; start it or unset REDIS_URL "
                    "to use the embedded one"
                ) from exc
            cases = build_use_cases(infra)
            app = build_app(infra, cases)
            stop_timers = asyncio.Event()
            timers = asyncio.create_task(build_scheduler(infra, cases).run(stop_timers))
            if settings.socket_mode:
                await _serve_socket_mode(app, settings)
            else:
                await _serve_http(app, infra)
            stop_timers.set()
            # Work acked before the signal (a pause in flight) finishes and is reported.
            await infra.tasks.drain(SHUTDOWN_GRACE_SECONDS)
            await timers
        finally:
            await infra.aclose()


async def _serve_http(app: AsyncApp, infra: Infrastructure) -> None:
    settings = infra.settings
    config = uvicorn.Config(
        build_server(app, infra),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    logger.info("serving Slack requests on http://%s:%d/slack/events", settings.host, settings.port)
    await GracefulServer(config).serve()


async def _serve_socket_mode(app: AsyncApp, settings: Settings) -> None:
    if settings.slack_app_token is None:
        raise StartupError("convoy-bot: Socket Mode needs SLACK_APP_TOKEN")
    handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
    logger.info("connecting to Slack in Socket Mode")
    stop = asyncio.Event()
    with stop_signals(stop.set):
        await handler.connect_async()  # type: ignore[no-untyped-call]  # unannotated in Bolt
        await stop.wait()
    await handler.close_async()  # type: ignore[no-untyped-call]  # unannotated in Bolt


@asynccontextmanager
async def cli_store(settings: StoreSettings) -> AsyncIterator[tuple[aioredis.Redis, SharedClock]]:
    """Redis for a CLI command, and the bots' shared clock read from it."""
    async with redis_url_for(settings) as url:
        redis = redis_client(url)
        try:
            clock = SharedClock(redis)
            await clock.sync()
            yield redis, clock
        finally:
            await redis.aclose()


async def roles_command(args: argparse.Namespace) -> int:
    """The same role rules as in chat, with the CLI's user trusted as the actor `cli`."""
    settings = StoreSettings()
    try:
        async with cli_store(settings) as (redis, clock):
            admin = RoleAdmin(
                RoleStore(redis, settings.convoy_bot_admins), AuditLog(redis, clock), None
            )
            if args.action == "grant":
                role = Role.parse(args.role)
                await admin.grant(CLI_ACTOR, args.user, role, args.project)
                print(f"granted {role.label} to {args.user} in {args.project}")  # noqa: T201
            elif args.action == "revoke":
                removed = await admin.revoke(CLI_ACTOR, args.user, args.project)
                print(  # noqa: T201
                    f"revoked {args.user}'s role in {args.project}"
                    if removed
                    else f"{args.user} had no role in {args.project}"
                )
            else:
                for grant in await admin.grants(CLI_ACTOR, args.project):
                    print(f"{grant.user_id}\t{grant.project}\t{grant.role.label}")  # noqa: T201
    except BotError as exc:
        print(f"convoy-bot: {exc.message}", file=sys.stderr)  # noqa: T201
        return 1
    return 0


async def audit_command(args: argparse.Namespace) -> int:
    """Print the audit trail, newest first, as text or JSON (for exports to a SIEM)."""
    settings = StoreSettings()
    window = None
    if args.since:
        window = parse_duration(args.since)
        if window is None:
            print("convoy-bot: --since takes a duration such as 90m or 24h", file=sys.stderr)  # noqa: T201
            return EXIT_CONFIG
    try:
        async with cli_store(settings) as (redis, clock):
            since = clock.now() - window if window else None
            entries = await AuditLog(redis, clock).latest(args.limit, args.endpoint, since)
    except BotError as exc:
        print(f"convoy-bot: {exc.message}", file=sys.stderr)  # noqa: T201
        return 1
    if args.json:
        print(json.dumps([asdict(entry) for entry in entries], indent=2))  # noqa: T201
        return 0
    for entry in entries:
        approver = f" approved-by={entry.approver}" if entry.approver else ""
        print(  # noqa: T201
            f"{entry.time} {entry.actor}{approver} {entry.command} "
            f"{entry.endpoint_name or '-'} ({entry.endpoint_uid or '-'}) -> {entry.outcome}"
            + (f" convoy={entry.convoy_status}" if entry.convoy_status else "")
        )
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="convoy-bot", description=__doc__)
    sub = root.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the bot (the default)")
    roles = sub.add_parser("roles", help="grant, revoke or list roles")
    roles_sub = roles.add_subparsers(dest="action", required=True)
    grant = roles_sub.add_parser("grant")
    grant.add_argument("user", help="Slack user id, e.g. U0123ABCD")
    grant.add_argument("role", help="viewer, requester, operator, approver or admin")
    revoke = roles_sub.add_parser("revoke")
    revoke.add_argument("user")
    listing = roles_sub.add_parser("list")
    for command in (grant, revoke, listing):
        command.add_argument("--project", default=GLOBAL_SCOPE, help="Convoy project id (* = all)")
    audit = sub.add_parser("audit", help="print the audit trail, newest first")
    audit.add_argument("--endpoint", default="", help="only entries about this uid or name")
    audit.add_argument("--since", default="", help="only entries this recent, e.g. 24h")
    audit.add_argument("--limit", type=int, default=1000, help="at most this many entries")
    audit.add_argument("--json", action="store_true", help="a JSON array, for a SIEM")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in ("roles", "audit"):
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
            command = roles_command if args.command == "roles" else audit_command
            return asyncio.run(command(args))
        settings = Settings()
        configure_logging(settings.log_level)
        asyncio.run(serve(settings))
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except StartupError as exc:
        print(str(exc), file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    return 0


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO, and an endpoint's webhook URL is a secret.
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


if __name__ == "__main__":
    sys.exit(main())
