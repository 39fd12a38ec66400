"""The composition root: settings -> Redis -> clients -> use cases -> app -> serve, and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from pydantic import ValidationError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.cli import EXIT_CONFIG, audit_command, roles_command
from bot.embedded_redis import redis_url_for
from bot.errors import BotError
from bot.roles import GLOBAL_SCOPE
from bot.settings import Settings
from bot.wiring import (
    Infrastructure,
    build_app,
    build_infrastructure,
    build_scheduler,
    build_server,
    build_use_cases,
)

logger = logging.getLogger("convoy_bot")


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


async def serve(settings: Settings) -> None:
    async with redis_url_for(settings) as url:
        infra = build_infrastructure(settings, url)
        try:
            try:
                await infra.clock.sync()
                await infra.watch.at_start()
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
            await infra.tasks.drain(settings.convoy_bot_shutdown_grace_seconds)
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
