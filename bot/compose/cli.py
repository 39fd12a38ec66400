"""The command-line tools beside `serve`: `roles` (the same rules as in chat), `audit`, and
`projects` (add, list, check, remove, export, import, new-secret-key)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr, ValidationError

from bot import tenancy
from bot.access.role_admin import CLI_ACTOR, RoleAdmin
from bot.access.roles import Role, RoleStore
from bot.approvals.store import ApprovalStore
from bot.audit import AuditLog
from bot.change.holds import HoldStore
from bot.change.inflight import InFlightJournal
from bot.clock import SharedClock
from bot.durations import parse_duration
from bot.embedded_redis import redis_url_for
from bot.errors import BotError
from bot.keybox import KeyBox, KeyBoxError, new_secret_key
from bot.project import Project
from bot.projects.admin import ProjectAdmin
from bot.projects.bindings import ChannelBindings
from bot.projects.catalog import ProjectCatalog
from bot.projects.held_work import HeldWork
from bot.projects.store import ProjectStore
from bot.settings import StoreSettings
from bot.store import Store, redis_client
from bot.tenancy import Workspace
from bot.workspaces.installations import RedisInstallationStore

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
            with (
                tenancy.within(workspace)
                if (workspace := await _workspace(args, settings, stores))
                else nullcontext()
            ):
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


class _NoSuchWorkspace(BotError):
    pass


async def _workspace(
    args: argparse.Namespace, settings: StoreSettings, stores: CliStores
) -> Workspace | None:
    """The workspace a command acts in: with many (SLACK_CLIENT_ID set) `--workspace` names
    one that installed the bot; with one, none is named."""
    named = getattr(args, "workspace", "") or ""
    if settings.slack_client_id is None:
        if named:
            raise _NoSuchWorkspace(
                "--workspace is for a bot installed in many workspaces (SLACK_CLIENT_ID set); "
                "this one serves one workspace"
            )
        return None
    if not named:
        raise _NoSuchWorkspace(
            "this bot serves many workspaces: name one with --workspace T… (or E… for an "
            "org-wide install); `convoy-bot workspaces list` shows them"
        )
    known = {w.key: w for w in await _installations(stores).known_workspaces()}
    if named not in known:
        raise _NoSuchWorkspace(
            f"no workspace {named[:40]} has installed the bot; `convoy-bot workspaces list` "
            "shows those that have"
        )
    return known[named]


def _installations(stores: CliStores) -> RedisInstallationStore:
    # Listing and purging read no token: a key that seals nothing stands in when unset.
    return RedisInstallationStore(stores.redis, stores.box or KeyBox([SecretStr(new_secret_key())]))


async def workspaces_command(
    args: argparse.Namespace, settings: StoreSettings, stores: CliStores
) -> int:
    """The installations (never a token), and purging an uninstalled workspace's state."""
    if settings.slack_client_id is None:
        complain(
            "this bot serves one workspace (SLACK_BOT_TOKEN's): workspaces are for a bot "
            "installed in many (SLACK_CLIENT_ID set)"
        )
        return EXIT_CONFIG
    installations = _installations(stores)
    installed = await installations.installed()
    known = await installations.known_workspaces()
    if args.action == "list":
        say("WORKSPACE\tENTERPRISE\tTEAM\tKIND\tNAME\tINSTALLED\tBY")
        by_key = {i.workspace.key: i for i in installed}
        for workspace in known:
            item = by_key.get(workspace.key)
            kind = "org-wide" if workspace.org_wide else "workspace"
            if item is None:
                say(
                    f"{workspace.key}\t{workspace.enterprise_id or '-'}\t{workspace.team_id or '-'}"
                    f"\t{kind}\t-\tuninstalled (state kept)\t-"
                )
                continue
            when = datetime.fromtimestamp(item.installed_at, UTC).isoformat(timespec="seconds")
            say(
                f"{workspace.key}\t{item.enterprise_id or '-'}\t{item.team_id or '-'}\t{kind}"
                f"\t{item.name or '-'}\t{when}\t{item.installer or '-'}"
            )
        return 0
    target = next((w for w in known if w.key == args.workspace_id), None)
    if target is None:
        complain(f"no workspace {args.workspace_id[:40]} has state here (see `workspaces list`)")
        return 1
    if any(i.workspace.key == target.key for i in installed):
        complain(
            f"{target.key} still has the bot installed: its state is purged once it is "
            "uninstalled (its admins remove the app from the workspace)"
        )
        return 1
    with tenancy.within(target):
        holds = len(await HoldStore(stores.redis, timedelta(minutes=5), stores.clock).all())
    if holds and not args.force:
        complain(
            f"{target.key} still holds {holds} endpoint(s) paused; purging forgets them (they "
            "stay paused in Convoy, and their timers are lost). Resume them first, or give "
            "--force"
        )
        return 1
    deleted = await installations.purge(target)
    say(f"purged {target.key}: {deleted} key(s) of its state deleted")
    return 0


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


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    more: str = "",
) -> argparse.ArgumentParser:
    """A subcommand whose one-line summary shows in its parent's help and heads its own."""
    heading = f"{summary[0].upper()}{summary[1:]}. {more}".strip()
    return sub.add_parser(name, help=summary, description=heading)


def _positive(text: str) -> int:
    """A whole number from 1 on, for argparse (which says what was wrong in one line)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number from 1 to 10^9")
    return int(text)


WORKSPACE_HELP = (
    "with a bot installed in many workspaces: the workspace (T…), or org (E…), acted in"
)
SUBJECT_HELP = "a Slack user id (U…, W…) or user group id (S…), as in `/convoy roles`"
PROJECT_HELP = "a project alias or Convoy project id (default *: every project)"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `roles`, `audit` and `projects` subcommands."""
    roles = _command(
        sub,
        "roles",
        "grant, revoke or list roles",
        "The same store and rules as `/convoy roles` in Slack; the actor is recorded as `cli`.",
    )
    roles_sub = roles.add_subparsers(dest="action", required=True, metavar="ACTION")
    grant = _command(roles_sub, "grant", "give a user or user group a role")
    grant.add_argument("user", help=SUBJECT_HELP)
    grant.add_argument("role", help="viewer, requester, operator, approver or admin")
    revoke = _command(roles_sub, "revoke", "take a user's or user group's role away")
    revoke.add_argument("user", help=SUBJECT_HELP)
    listing = _command(
        roles_sub, "list", "list the roles granted", "One tab-separated line per grant."
    )
    for command in (grant, revoke, listing):
        command.add_argument("--project", default="*", help=PROJECT_HELP)
        command.add_argument("--workspace", default="", help=WORKSPACE_HELP)

    audit = _command(
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

    projects = _command(
        sub,
        "projects",
        "the Convoy projects the bot serves",
        "Stored in Redis, their API keys encrypted with CONVOY_BOT_SECRET_KEY.",
    )
    actions = projects.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = _command(
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
    listing_projects = _command(actions, "list", "list the projects (never their keys)")
    check = _command(actions, "check", "ask Convoy whether each key, URL and id agree")
    check.add_argument("alias", nargs="?", help="one project (default: every one)")
    remove = _command(
        actions, "remove", "remove a stored project", "Refused while it has pauses or timers."
    )
    remove.add_argument("alias", help="the project's alias")
    export = _command(actions, "export", "print the projects as JSON, without keys")
    importing = _command(actions, "import", "add the projects of an export file")
    importing.add_argument("file", help="a file written by `projects export`")
    new_key = _command(actions, "new-secret-key", "print a new CONVOY_BOT_SECRET_KEY")
    for command in (add, listing_projects, check, remove, export, importing):
        command.add_argument("--workspace", default="", help=WORKSPACE_HELP)
    del new_key

    workspaces = _command(
        sub,
        "workspaces",
        "the workspaces that installed the bot (with SLACK_CLIENT_ID)",
        "Uninstalling deletes a workspace's tokens; its other state stays until purged.",
    )
    ws_actions = workspaces.add_subparsers(dest="action", required=True, metavar="ACTION")
    _command(ws_actions, "list", "list the installations (never a token)")
    purge = _command(
        ws_actions,
        "purge",
        "delete an uninstalled workspace's state",
        "Projects, roles, holds, timers, approvals, audit, watch: all of it. Refused while "
        "the bot is installed there, and while it holds pauses unless --force.",
    )
    purge.add_argument("workspace_id", help="the workspace (T…) or org (E…)")
    purge.add_argument("--force", action="store_true", help="purge even with pauses held")
