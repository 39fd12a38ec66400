"""The command-line tools beside `serve`: `roles` (the same rules as in chat), `audit`,
`projects` (add, list, check, remove, export, import, new-secret-key) and `workspaces`
(bot.compose.cli_workspaces)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr, ValidationError

from bot import tenancy
from bot.access.role_admin import CLI_ACTOR, RoleAdmin
from bot.access.roles import Role, RoleStore
from bot.approvals.store import ApprovalStore
from bot.change.holds import HoldStore
from bot.change.inflight import InFlightJournal
from bot.compose.cli_base import (
    EXIT_CONFIG,
    CliStores,
    cli_stores,
    complain,
    first_problem,
    say,
    subcommand,
)
from bot.compose.cli_workspaces import (
    WORKSPACE_HELP,
    add_workspaces_parser,
    workspace_named,
    workspaces_command,
)
from bot.durations import parse_duration
from bot.errors import BotError
from bot.keybox import KeyBoxError, new_secret_key
from bot.project import Project
from bot.projects.admin import ProjectAdmin
from bot.projects.held_work import HeldWork
from bot.settings import StoreSettings


async def run(args: argparse.Namespace) -> int:
    """Run one CLI command; its exit code."""
    try:
        settings = StoreSettings()
        if args.command == "projects" and args.action == "new-secret-key":
            say(new_secret_key())
            return 0
        async with cli_stores(settings) as stores:
            if args.command == "workspaces":
                return await workspaces_command(args, settings, stores)
            with tenancy.within(await workspace_named(args, settings, stores)):
                if args.command == "roles":
                    return await roles_command(args, settings, stores)
                if args.command == "audit":
                    return await audit_command(args, stores)
                return await projects_command(args, settings, stores)
    except KeyBoxError as exc:
        complain(str(exc))
        return EXIT_CONFIG
    except BotError as exc:
        complain(exc.message)
        return 1


async def roles_command(
    args: argparse.Namespace, settings: StoreSettings, stores: CliStores
) -> int:
    """The same role rules as in chat, with the CLI's user trusted as the actor `cli`."""
    roles = RoleStore(stores.redis, settings.convoy_bot_admins)
    admin = RoleAdmin(roles, stores.audit, stores.catalog, trusted=True)
    where = await admin.scope(args.project)
    if args.action == "grant":
        role = Role.parse(args.role)
        await admin.grant(CLI_ACTOR, args.user, role, where)
        say(f"granted {role.label} to {args.user} in {where.name}")
    elif args.action == "revoke":
        removed = await admin.revoke(CLI_ACTOR, args.user, where)
        say(
            f"revoked {args.user}'s role in {where.name}"
            if removed
            else f"{args.user} had no role in {where.name}"
        )
    else:
        for grant in await admin.grants(CLI_ACTOR, None if where.everywhere else where):
            say(f"{grant.user_id}\t{grant.project}\t{grant.role.label}")
    return 0


async def audit_command(args: argparse.Namespace, stores: CliStores) -> int:
    """Print the audit trail, newest first, as text or JSON (for exports to a SIEM)."""
    window: timedelta | None = None
    if args.since:
        window = parse_duration(args.since)
        if window is None:
            complain("--since takes a duration such as 90m or 24h")
            return EXIT_CONFIG
    scopes: tuple[str, ...] = ()
    if args.project:
        project = await stores.catalog.named(args.project)
        scopes = await stores.catalog.audit_names(project)
    since = stores.clock.now() - window if window else None
    entries = await stores.audit.latest(args.limit, args.endpoint, since, scopes)
    if args.json:
        say(json.dumps([asdict(entry) for entry in entries], indent=2))
        return 0
    for entry in entries:
        approver = f" approved-by={entry.approver}" if entry.approver else ""
        say(
            f"{entry.time} {entry.actor}{approver} {entry.command} "
            f"{entry.endpoint_name or '-'} ({entry.endpoint_uid or '-'}) -> {entry.outcome}"
            + (f" convoy={entry.convoy_status}" if entry.convoy_status else "")
        )
    return 0


async def projects_command(
    args: argparse.Namespace, settings: StoreSettings, stores: CliStores
) -> int:
    # Only read here: the lead, TTL and lease matter to the bots that write them.
    work = HeldWork(
        HoldStore(stores.redis, timedelta(minutes=5), stores.clock),
        InFlightJournal(stores.redis, report_within=timedelta(minutes=1)),
        ApprovalStore(stores.redis, timedelta(minutes=30), timedelta(minutes=1)),
        stores.clock,
    )
    admin = ProjectAdmin(
        stores.store,
        stores.catalog,
        stores.audit,
        work=work,
        bindings=stores.bindings,
        roles=RoleStore(stores.redis, settings.convoy_bot_admins),
        timeout_seconds=settings.convoy_timeout_seconds,
    )
    match args.action:
        case "add":
            return await _add(args, admin)
        case "list":
            return await _list(stores)
        case "check":
            checked = await admin.check(args.alias or "")
            for item in checked:
                say(f"{item.project.alias}\t{'ok' if item.ok else item.problem}")
            return 0 if all(item.ok for item in checked) else 1
        case "remove":
            unbound = await admin.remove(args.alias)
            say(f"removed {args.alias}" + (f"; unbound {', '.join(unbound)}" if unbound else ""))
            return 0
        case "export":
            sys.stdout.write(await admin.export())
            return 0
        case _:  # import
            try:
                text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                complain(f"cannot read {args.file}: {_why_unreadable(exc)}. Nothing was stored.")
                return EXIT_CONFIG
            added = await admin.import_file(text, os.environ)
            say(f"imported {len(added)} project(s): {', '.join(added) or 'none'}")
            return 0


def _why_unreadable(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    return (exc.strerror or type(exc).__name__).lower()


async def _add(args: argparse.Namespace, admin: ProjectAdmin) -> int:
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "")
        if not key:
            complain(f"{args.api_key_env} is not set (it should hold the project's API key)")
            return EXIT_CONFIG
    else:
        if sys.stdin.isatty():
            print("API key (not shown): ", end="", file=sys.stderr, flush=True)  # noqa: T201
        key = sys.stdin.readline().strip()
    try:
        project = Project(
            alias=args.alias,
            api_url=args.api_url,
            project_id=args.project_id,
            webhook_detail=args.webhook_detail,
            key_env=args.api_key_env or "",
        )
    except ValidationError as exc:
        complain(first_problem(exc))
        return EXIT_CONFIG
    added = await admin.add(project, SecretStr(key))
    moved = "".join(
        f"; {what}"
        for what in (
            f"channels bound to it now act on it: {', '.join(added.moved_channels)}"
            if added.moved_channels
            else "",
            f"{added.moved_grants} role grant(s) in it moved to it" if added.moved_grants else "",
        )
        if what
    )
    say(
        f"{'updated' if added.replaced else 'added'} {project.alias}: Convoy project "
        f"{project.project_id} at {project.api_url} (the key belongs to it){moved}"
    )
    return 0


async def _list(stores: CliStores) -> int:
    """Aliases, ids, URLs, webhook detail, where the key comes from, bound channels: no key."""
    env = await stores.catalog.from_env()
    bound = await stores.bindings.all()
    say("ALIAS\tPROJECT ID\tAPI URL\tWEBHOOK\tKEY\tCHANNELS")
    for project in await stores.catalog.projects():
        source = "CONVOY_API_KEY" if env == project else "stored, encrypted"
        channels = ",".join(sorted(c for c, s in bound.items() if s == project.scope)) or "-"
        say(
            f"{project.alias}\t{project.project_id}\t{project.api_url}\t"
            f"{project.webhook_detail}\t{source}\t{channels}"
        )
    return 0


def _positive(text: str) -> int:
    """A whole number from 1 on, for argparse (which says what was wrong in one line)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number from 1 to 10^9")
    return int(text)


SUBJECT_HELP = "a Slack user id (U…, W…) or user group id (S…), as in `/convoy roles`"
PROJECT_HELP = "a project alias or Convoy project id (default *: every project)"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `roles`, `audit` and `projects` subcommands."""
    roles = subcommand(
        sub,
        "roles",
        "grant, revoke or list roles",
        "The same store and rules as `/convoy roles` in Slack; the actor is recorded as `cli`.",
    )
    roles_sub = roles.add_subparsers(dest="action", required=True, metavar="ACTION")
    grant = subcommand(roles_sub, "grant", "give a user or user group a role")
    grant.add_argument("user", help=SUBJECT_HELP)
    grant.add_argument("role", help="viewer, requester, operator, approver or admin")
    revoke = subcommand(roles_sub, "revoke", "take a user's or user group's role away")
    revoke.add_argument("user", help=SUBJECT_HELP)
    listing = subcommand(
        roles_sub, "list", "list the roles granted", "One tab-separated line per grant."
    )
    for command in (grant, revoke, listing):
        command.add_argument("--project", default="*", help=PROJECT_HELP)
        command.add_argument("--workspace", default="", help=WORKSPACE_HELP)

    audit = subcommand(
        sub, "audit", "print the audit trail, newest first", "One line per entry, or JSON."
    )
    audit.add_argument("--endpoint", default="", help="only entries about this uid or name")
    audit.add_argument("--project", default="", help="only entries of this project (alias)")
    audit.add_argument("--since", default="", help="only entries this recent, e.g. 90m or 24h")
    audit.add_argument(
        "--limit", type=_positive, default=1000, help="at most this many (default 1000)"
    )
    audit.add_argument("--json", action="store_true", help="a JSON array, for a SIEM")
    audit.add_argument("--workspace", default="", help=WORKSPACE_HELP)

    projects = subcommand(
        sub,
        "projects",
        "the Convoy projects the bot serves",
        "Stored in Redis, their API keys encrypted with CONVOY_BOT_SECRET_KEY.",
    )
    actions = projects.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = subcommand(
        actions,
        "add",
        "add (or update) a project",
        "Its API key is read from --api-key-env or stdin, and checked with Convoy.",
    )
    add.add_argument("alias", help="its name in chat, e.g. payments")
    add.add_argument("--api-url", required=True, help="e.g. https://us.getconvoy.cloud/api")
    add.add_argument("--project-id", required=True, help="the Convoy project id")
    add.add_argument(
        "--api-key-env",
        default="",
        help="the environment variable holding the API key (else it is read from stdin; "
        "never give a key on the command line)",
    )
    add.add_argument(
        "--webhook-detail",
        choices=("full", "status", "off"),
        default="full",
        help="what endpoints' own Slack webhooks hear (status: no reasons or names)",
    )
    listing_projects = subcommand(actions, "list", "list the projects (never their keys)")
    check = subcommand(actions, "check", "ask Convoy whether each key, URL and id agree")
    check.add_argument("alias", nargs="?", help="one project (default: every one)")
    remove = subcommand(
        actions, "remove", "remove a stored project", "Refused while it has pauses or timers."
    )
    remove.add_argument("alias", help="the project's alias")
    export = subcommand(actions, "export", "print the projects as JSON, without keys")
    importing = subcommand(actions, "import", "add the projects of an export file")
    importing.add_argument("file", help="a file written by `projects export`")
    new_key = subcommand(actions, "new-secret-key", "print a new CONVOY_BOT_SECRET_KEY")
    for command in (add, listing_projects, check, remove, export, importing):
        command.add_argument("--workspace", default="", help=WORKSPACE_HELP)
    del new_key

    add_workspaces_parser(sub)
