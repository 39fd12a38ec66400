"""`convoy-bot workspaces list|purge`, and the workspace the other commands act in, for a bot
installed in many workspaces (SLACK_CLIENT_ID set)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from bot import tenancy
from bot.change.holds import HoldStore
from bot.compose.cli_base import EXIT_CONFIG, CliStores, complain, say, subcommand
from bot.errors import BotError
from bot.keybox import KeyBox, new_secret_key
from bot.settings import StoreSettings
from bot.tenancy import Workspace
from bot.workspaces.installations import RedisInstallationStore

WORKSPACE_HELP = (
    "with a bot installed in many workspaces: the workspace (T…), or org (E…), acted in"
)


class _NoSuchWorkspace(BotError):
    pass


async def workspace_named(
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


def add_workspaces_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `workspaces` subcommand."""
    workspaces = subcommand(
        sub,
        "workspaces",
        "the workspaces that installed the bot (with SLACK_CLIENT_ID)",
        "Uninstalling deletes a workspace's tokens; its other state stays until purged.",
    )
    ws_actions = workspaces.add_subparsers(dest="action", required=True, metavar="ACTION")
    subcommand(ws_actions, "list", "list the installations (never a token)")
    purge = subcommand(
        ws_actions,
        "purge",
        "delete an uninstalled workspace's state",
        "Projects, roles, holds, timers, approvals, audit, watch: all of it. Refused while "
        "the bot is installed there, and while it holds pauses unless --force.",
    )
    purge.add_argument("workspace_id", help="the workspace (T…) or org (E…)")
    purge.add_argument("--force", action="store_true", help="purge even with pauses held")
