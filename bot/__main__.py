"""The composition root: settings -> Redis -> clients -> use cases -> app -> serve, and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata

import uvicorn
import uvloop
from pydantic import ValidationError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot import tenancy
from bot.compose.app import build_app, build_scheduler, build_server
from bot.compose.cli import add_parsers, run
from bot.compose.cli_base import EXIT_CONFIG
from bot.compose.infrastructure import Infrastructure, build_infrastructure
from bot.compose.runtimes import ProjectRuntimes
from bot.compose.startup import (
    StartupError,
    describe_redis,
    describe_settings_error,
    log_mode,
    log_projects,
    log_slack,
    refused_app_token_line,
    refused_token_line,
)
from bot.compose.workspace_timers import WorkspaceSchedulers
from bot.embedded_redis import redis_url_for
from bot.errors import BotError, ProjectUnavailable
from bot.keybox import KeyBoxError
from bot.logs import configure_logging, describe_failure
from bot.projects.catalog import ProjectCatalog
from bot.projects.layout import upgrade_layout
from bot.settings import Settings
from bot.slack_identity import SlackState
from bot.timers.scheduler import Scheduler

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


async def serve(settings: Settings) -> None:
    try:
        box = settings.secret_box()
    except KeyBoxError as exc:
        raise StartupError(f"convoy-bot: {exc}") from exc
    from_env = settings.env_project()
    if settings.many_workspaces:
        # From here on every key names the workspace its work serves (bot.tenancy).
        tenancy.serve_many()
    async with redis_url_for(settings) as url:
        infra = build_infrastructure(settings, url, from_env, box)
        runtimes = ProjectRuntimes(infra)
        try:
            slack = await _slack_at_start(infra)
            if slack is not None and slack.token_refused:
                raise StartupError(refused_token_line(slack))
            app_token = settings.slack_app_token
            if app_token is not None:
                # Refused, Socket Mode's SDK would retry in silence for ever.
                code = await infra.slack_identity.app_token_refused(app_token.get_secret_value())
                if code:
                    raise StartupError(refused_app_token_line(code))
            try:
                await infra.clock.sync()
                await infra.watch.at_start()
                if from_env is not None:
                    project = from_env.project
                    await upgrade_layout(infra.redis, project.project_id, project.scope)
            except BotError as exc:
                raise StartupError(
                    "convoy-bot: cannot reach Redis at REDIS_URL; start it or unset REDIS_URL "
                    "to use the embedded one"
                ) from exc
            checking = await _ready_to_serve(infra, runtimes, slack, url)
            app = build_app(infra, runtimes)
            freeze_what_start_up_built()
            stop_timers = asyncio.Event()
            timers = asyncio.create_task(_due_work(infra, runtimes).run(stop_timers))
            if settings.socket_mode:
                await _serve_socket_mode(app, infra, runtimes)
            else:
                await _serve_http(app, infra, runtimes)
            stop_timers.set()
            # Work acked before the signal (a pause in flight) finishes and is reported.
            await infra.tasks.drain(settings.convoy_bot_shutdown_grace_seconds)
            await timers
            checking.cancel()
        finally:
            await runtimes.aclose()
            await infra.aclose()


def freeze_what_start_up_built() -> None:
    """Leave what start-up built out of every later garbage collection.

    The modules, the app, its clients and caches are some 100k objects that live as long as
    the process, and each full collection walked them all again: 65-80 ms with the loop
    stopped, which was the ack p99 of the overload benchmark (94.7 ms). Frozen, a full
    collection walks only what requests made since (12 ms at most; ack p99 21.5 ms at
    450 pauses/s).
    Collected first, so no start-up garbage is kept for ever.
    """
    gc.collect()
    gc.freeze()


async def _ready_to_serve(
    infra: Infrastructure, runtimes: ProjectRuntimes, slack: SlackState | None, url: str
) -> asyncio.Task[None]:
    """The last checks that may stop start-up, then the log of where everything is (said
    once nothing can stop start-up any more, so a refusal stays one line); the Convoy
    checks go on in the background."""
    settings = infra.settings
    if slack is not None:
        await check_projects(infra.catalog, runtimes)
    log_mode(settings)
    logger.info("Redis: %s", describe_redis(url))
    if slack is None:
        return asyncio.create_task(log_installations(infra))
    log_slack(slack)
    from_env = settings.env_project()
    env_alias = from_env.project.alias if from_env is not None else None
    log_projects(await infra.catalog.projects(), env_alias)
    # Whether each key belongs to its project is asked in the background: a slow Convoy
    # must not hold up start-up (a mismatch is refused per command anyway).
    return asyncio.create_task(log_convoy_checks(runtimes))


async def _slack_at_start(infra: Infrastructure) -> SlackState | None:
    """With one workspace, whether Slack takes its token (None: many, each installed)."""
    if infra.installations is not None:
        return None
    return await infra.slack_identity.check()


def _due_work(infra: Infrastructure, runtimes: ProjectRuntimes) -> Scheduler | WorkspaceSchedulers:
    """The scheduler; serving many workspaces, one per workspace."""
    if infra.installations is None:
        return build_scheduler(infra, runtimes)
    return WorkspaceSchedulers(infra.installations, lambda: build_scheduler(infra, runtimes))


async def log_installations(infra: Infrastructure) -> None:
    """Serving many workspaces: how many have installed the bot (never a token)."""
    assert infra.installations is not None
    try:
        installed = await infra.installations.installed()
    except BotError:
        return
    logger.info(
        "Slack: installable in many workspaces (OAuth at /slack/install); %d installed",
        len(installed),
    )


async def check_projects(catalog: ProjectCatalog, runtimes: ProjectRuntimes) -> None:
    """There is a project, and every project's key decrypts (else stop, in one line)."""
    projects = await catalog.projects()
    if not projects:
        raise StartupError(
            "convoy-bot: no Convoy project: set CONVOY_PROJECT_ID and CONVOY_API_KEY, or add "
            "one with `convoy-bot projects add`"
        )
    for project in projects:
        try:
            await runtimes.for_project(project)
        except ProjectUnavailable as exc:
            raise StartupError(
                f"convoy-bot: CONVOY_BOT_SECRET_KEY cannot decrypt the API key of project "
                f"{project.alias!r} (a wrong key, or the one it was stored with was rotated "
                "away; keep the old key after the new one while rotating)"
            ) from exc


async def log_convoy_checks(runtimes: ProjectRuntimes) -> None:
    """Ask Convoy which project each key acts on; log a mismatch (refused per command)."""
    for alias, state in (await runtimes.convoy_status()).items():
        if state == "ok":
            logger.info("project %s: Convoy answers for its project", alias)
        else:
            logger.warning("project %s: %s", alias, state)


def _http_server(app: AsyncApp, infra: Infrastructure, runtimes: ProjectRuntimes) -> GracefulServer:
    """The HTTP server: Slack's events in HTTP mode; health, readiness, status, metrics always."""
    settings = infra.settings
    config = uvicorn.Config(
        build_server(app, infra, runtimes),
        host=settings.host,
        port=settings.port,
        http=settings.convoy_bot_http_parser,
        log_level=settings.log_level.lower(),
        lifespan="off",
        access_log=False,
        log_config=None,  # uvicorn's lines go through the bot's own format (text or JSON)
        timeout_graceful_shutdown=5,
    )
    return GracefulServer(config)


async def _serve_http(app: AsyncApp, infra: Infrastructure, runtimes: ProjectRuntimes) -> None:
    settings = infra.settings
    logger.info("serving Slack requests on http://%s:%d/slack/events", settings.host, settings.port)
    await _http_server(app, infra, runtimes).serve()


async def _serve_socket_mode(
    app: AsyncApp, infra: Infrastructure, runtimes: ProjectRuntimes
) -> None:
    """Slack's requests over the websocket; the HTTP server still answers /healthz, /readyz,
    /status and /metrics, and its stopping on SIGTERM closes the websocket too."""
    token = infra.settings.slack_app_token
    if token is None:
        raise StartupError("convoy-bot: Socket Mode needs SLACK_APP_TOKEN")
    handler = AsyncSocketModeHandler(app, token.get_secret_value())
    logger.info("connecting to Slack in Socket Mode")
    # In the background: while Slack is unreachable the SDK keeps trying, and meanwhile
    # /healthz, /readyz and /status must answer (and say so).
    connecting = asyncio.create_task(handler.connect_async())  # type: ignore[no-untyped-call]  # unannotated in Bolt
    connecting.add_done_callback(_log_connect_failure)
    try:
        await _http_server(app, infra, runtimes).serve()
    finally:
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connecting
        await handler.close_async()  # type: ignore[no-untyped-call]  # unannotated in Bolt


def _log_connect_failure(task: asyncio.Task[None]) -> None:
    failure = None if task.cancelled() else task.exception()
    if failure is not None:
        logger.error("Socket Mode could not connect: %s", describe_failure(failure))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="convoy-bot",
        description="Pause, resume and inspect Convoy webhook endpoints from Slack.",
        epilog="Settings come from the environment and ./.env (see .env.example).",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {bot_version()}")
    sub = root.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "serve",
        help="run the bot (the default)",
        description="Run the bot: Slack's requests over HTTP, or over Socket Mode when "
        "SLACK_APP_TOKEN is set; /healthz, /readyz, /status and /metrics in both.",
    )
    add_parsers(sub)
    return root


def bot_version() -> str:
    try:
        return metadata.version("convoy-slack-bot")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


async def run_one_line(args: argparse.Namespace) -> int:
    """A CLI command whose failures are one line each: an error nobody foresaw is named by
    its kind (its text could hold a secret: a URL with a password), never a traceback."""
    try:
        return await run(args)
    except ValidationError:
        raise  # a setting: described by main, in one line
    except Exception as exc:  # noqa: BLE001  # the last resort: one line, no traceback
        print(  # noqa: T201  # a CLI's error
            f"convoy-bot: {args.command} failed: {type(exc).__name__} (unexpected; "
            "please report it)",
            file=sys.stderr,
        )
        return 1


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when the settings ask for it (the default), else asyncio's."""
    return uvloop.new_event_loop if settings.convoy_bot_event_loop == "uvloop" else None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in ("roles", "audit", "projects", "workspaces"):
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
            return asyncio.run(run_one_line(args))
        settings = Settings()
        configure_logging(settings.log_level, settings.log_format)
        with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
            runner.run(serve(settings))
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except StartupError as exc:
        print(str(exc), file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
