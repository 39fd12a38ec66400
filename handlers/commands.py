"""The `/convoy` slash command: parse, ack with a private note, then one use case after the ack.

Each subcommand is a small function given only the use case it calls; `register` binds them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.changes import Caller
from bot.changing import Changing
from bot.clock import Clock
from bot.errors import AccessStoreUnavailable
from bot.models import Action
from bot.paused_list import PausedList
from bot.reading import Reading
from bot.role_admin import RoleAdmin
from bot.roles import Role
from handlers import ids
from handlers.blocks.changes import working_note
from handlers.blocks.kit import escape
from handlers.blocks.reads import (
    audit_message,
    help_message,
    list_message,
    role_granted_message,
    role_revoked_message,
    roles_message,
)
from handlers.blocks.timers import paused_message
from handlers.modals import Forms
from handlers.outcomes import Reporter
from handlers.parsing import Command, parse, parse_audit, parse_roles
from handlers.replies import Replies
from handlers.work import Worker

Subcommand = Callable[[Replies, Caller, Command], Awaitable[str]]


def register(
    app: AsyncApp,
    worker: Worker,
    *,
    access: Access,
    reading: Reading,
    changing: Changing,
    paused: PausedList,
    role_admin: RoleAdmin,
    reporter: Reporter,
    clock: Clock,
    forms: Forms,
) -> None:
    """Wire `/convoy`, each subcommand bound to the one use case it calls."""
    subcommands: dict[str, Subcommand] = {
        "help": partial(run_help, access=access),
        "list": partial(run_list, reading=reading),
        "status": partial(run_status, reading=reading, reporter=reporter),
        "audit": partial(run_audit, reading=reading),
        "paused": partial(run_paused, paused=paused, clock=clock),
        "roles": partial(run_roles, role_admin=role_admin),
        "pause": partial(run_change, changing=changing, reporter=reporter),
        "resume": partial(run_change, changing=changing, reporter=reporter),
    }
    app.command(ids.SLASH_COMMAND)(
        partial(convoy_command, worker=worker, subcommands=subcommands, forms=forms)
    )


async def convoy_command(  # noqa: PLR0917  # Bolt passes its own arguments by name
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    worker: Worker,
    subcommands: Mapping[str, Subcommand],
    forms: Forms,
) -> None:
    if await forms.for_command(ack, command, respond, client):
        return  # `/convoy pause` (or `resume`) alone: the form asks for the rest
    parsed = parse(str(command.get("text", "")))
    if parsed.verb in ("pause", "resume") and parsed.valid:
        await ack(response_type="ephemeral", text=working_note(parsed.verb, parsed.target))
    else:
        await ack()
    caller = Caller(
        str(command.get("user_id", "")),
        str(command.get("channel_id", "")),
        str(command.get("trigger_id", "")),
    )
    replies = worker.replies(respond, client, caller.channel_id)
    if not parsed.valid and parsed.verb != "help":
        worker.spawn(parsed.verb, replies, run_invalid(replies, parsed))
    else:
        worker.spawn(parsed.verb, replies, subcommands[parsed.verb](replies, caller, parsed))


async def run_invalid(replies: Replies, command: Command) -> str:
    await replies.private(f":warning: {escape(command.problem)}")
    return "invalid"


async def run_help(replies: Replies, caller: Caller, command: Command, access: Access) -> str:
    try:
        role: Role | None = await access.role_of(caller.user_id)
    except AccessStoreUnavailable:
        role = None  # usage needs no store; the role line says it is unknown
    await replies.private(help_message(role, access.project, command.problem))
    return "help"


async def run_list(replies: Replies, caller: Caller, command: Command, reading: Reading) -> str:
    endpoints = await reading.list_endpoints(caller.user_id, command.rest)
    await replies.private(*list_message(endpoints, command.rest))
    return "list"


async def run_status(
    replies: Replies, caller: Caller, command: Command, reading: Reading, reporter: Reporter
) -> str:
    found = await reading.status(caller.user_id, command.target)
    return await reporter.report(replies, found, caller.user_id, "")


async def run_audit(replies: Replies, caller: Caller, command: Command, reading: Reading) -> str:
    query = parse_audit(command.rest)
    if query.problem:
        await replies.private(f":warning: {escape(query.problem)}")
        return "invalid"
    entries = await reading.audit_trail(caller.user_id, query.endpoint, query.limit)
    await replies.private(*audit_message(entries, query.endpoint))
    return "audit"


async def run_paused(
    replies: Replies, caller: Caller, command: Command, paused: PausedList, clock: Clock
) -> str:
    held = await paused.paused(caller.user_id)
    await replies.private(*paused_message(held, clock.now()))
    return "paused"


async def run_change(
    replies: Replies, caller: Caller, command: Command, changing: Changing, reporter: Reporter
) -> str:
    result = await changing.change(
        caller, Action(command.verb), command.target, command.rest, command.duration
    )
    return await reporter.report(replies, result, caller.user_id, command.rest)


async def run_roles(
    replies: Replies, caller: Caller, command: Command, role_admin: RoleAdmin
) -> str:
    """`/convoy roles grant|revoke|list` for admins."""
    roles = parse_roles(command.rest)
    user_id = caller.user_id
    if roles.problem:
        await role_admin.check_admin(user_id)  # non-admins learn they may not, first
        await replies.private(f":warning: {escape(roles.problem)}")
        return "invalid"
    if roles.action == "list":
        grants = await role_admin.grants(user_id, roles.project)
        await replies.private(roles_message(grants, roles.project))
        return "roles list"
    if roles.action == "grant":
        role = Role.parse(roles.role)
        await role_admin.grant(user_id, roles.subject, role, roles.project)
        await replies.private(role_granted_message(roles.subject, role, roles.project))
        return "roles grant"
    removed = await role_admin.revoke(user_id, roles.subject, roles.project)
    await replies.private(role_revoked_message(roles.subject, roles.project, removed))
    return "roles revoke"
