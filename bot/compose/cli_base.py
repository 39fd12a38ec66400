"""What every command of the CLI shares: its output, its exit codes, and its stores."""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic import ValidationError

from bot.audit import AuditLog
from bot.clock import SharedClock
from bot.embedded_redis import redis_url_for
from bot.keybox import KeyBox
from bot.projects.bindings import ChannelBindings
from bot.projects.catalog import ProjectCatalog
from bot.projects.store import ProjectStore
from bot.settings import StoreSettings
from bot.store import Store, redis_client

EXIT_CONFIG = 2


def say(line: str) -> None:
    print(line)  # noqa: T201  # a CLI's output


def complain(line: str) -> None:
    print(f"convoy-bot: {line}", file=sys.stderr)  # noqa: T201  # a CLI's errors


def first_problem(error: ValidationError) -> str:
    """The first refused option and why, in one line (never the value typed: it may be a
    secret)."""
    item = error.errors(include_input=False, include_url=False)[0]
    option = "--" + str(item["loc"][0]).replace("_", "-") if item["loc"] else "a value"
    return f"{option}: {str(item['msg']).removeprefix('Value error, ')}"


@dataclass(frozen=True)
class CliStores:
    """What a CLI command works with: Redis, the shared clock, and the projects."""

    redis: Store
    clock: SharedClock
    audit: AuditLog
    catalog: ProjectCatalog
    store: ProjectStore
    bindings: ChannelBindings
    box: KeyBox | None


@asynccontextmanager
async def cli_stores(settings: StoreSettings) -> AsyncIterator[CliStores]:
    """Redis for a CLI command, the bots' shared clock read from it, and the projects (their
    keys decrypt only if CONVOY_BOT_SECRET_KEY is set)."""
    box = settings.secret_box()
    async with redis_url_for(settings) as url:
        redis = redis_client(url)
        try:
            clock = SharedClock(redis)
            await clock.sync()
            bindings = ChannelBindings(redis)
            store = ProjectStore(redis, box)
            catalog = ProjectCatalog(store, settings.env_project(), bindings)
            yield CliStores(redis, clock, AuditLog(redis, clock), catalog, store, bindings, box)
        finally:
            await redis.aclose()


def subcommand(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    more: str = "",
) -> argparse.ArgumentParser:
    """A subcommand whose one-line summary shows in its parent's help and heads its own."""
    heading = f"{summary[0].upper()}{summary[1:]}. {more}".strip()
    return sub.add_parser(name, help=summary, description=heading)
