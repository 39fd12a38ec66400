"""The command-line tools beside `serve`: `roles` (the same rules as in chat) and `audit`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict

import redis.asyncio as aioredis

from bot.audit import AuditLog
from bot.clock import SharedClock
from bot.durations import parse_duration
from bot.embedded_redis import redis_url_for
from bot.errors import BotError
from bot.role_admin import CLI_ACTOR, RoleAdmin
from bot.roles import Role, RoleStore
from bot.settings import StoreSettings
from bot.store import redis_client

EXIT_CONFIG = 2


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
