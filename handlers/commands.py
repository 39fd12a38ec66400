"""The `/convoy` slash command: parse, ack with a private note, then work after the ack."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.changes import Action
from bot.errors import AccessStoreUnavailable
from bot.operations import Caller, Operations
from bot.roles import Role
from bot.services import Services
from handlers import blocks, ids
from handlers.outcomes import guarded, report
from handlers.parsing import Command, RolesCommand, parse, parse_audit, parse_roles
from handlers.replies import Replies


def register(app: AsyncApp, services: Services) -> None:
    """Wire `/convoy` to the services."""

    async def convoy_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        parsed = parse(str(command.get("text", "")))
        if parsed.verb in ("pause", "resume") and parsed.valid:
            await ack(
                response_type="ephemeral", text=blocks.working_note(parsed.verb, parsed.target)
            )
        else:
            await ack()
        caller = Caller(str(command.get("user_id", "")), str(command.get("channel_id", "")))
        replies = Replies(respond, client, caller.channel_id, services.metrics)
        services.tasks.spawn(
            guarded(services, replies, parsed.verb, run(services, replies, caller, parsed))
        )

    app.command(ids.SLASH_COMMAND)(convoy_command)


async def run(services: Services, replies: Replies, caller: Caller, command: Command) -> str:
    """The work behind one command; returns a short result label for metrics."""
    operations = services.operations
    user_id = caller.user_id
    if command.verb == "help" or not command.valid:
        if command.verb != "help":
            await replies.private(f":warning: {blocks.escape(command.problem)}")
            return "invalid"
        try:
            role: Role | None = await operations.roles.effective_role(user_id, operations.project)
        except AccessStoreUnavailable:
            role = None  # usage needs no store; the role line says it is unknown
        await replies.private(blocks.help_message(role, operations.project, command.problem))
        return "help"
    if command.verb == "list":
        endpoints = await operations.list_endpoints(user_id, command.rest)
        text, list_blocks = blocks.list_message(endpoints, command.rest)
        await replies.private(text, list_blocks)
        return "list"
    if command.verb == "status":
        found = await operations.status(user_id, command.target)
        return await report(services, replies, found, user_id, "")
    if command.verb == "roles":
        return await run_roles(operations, replies, user_id, parse_roles(command.rest))
    if command.verb == "audit":
        query = parse_audit(command.rest)
        if query.problem:
            await replies.private(f":warning: {blocks.escape(query.problem)}")
            return "invalid"
        entries = await operations.audit_trail(user_id, query.endpoint, query.limit)
        text, audit_blocks = blocks.audit_message(entries, query.endpoint)
        await replies.private(text, audit_blocks)
        return "audit"
    if command.verb == "paused":
        held = await operations.paused_endpoints(user_id)
        text, paused_blocks = blocks.paused_message(held, operations.clock.now())
        await replies.private(text, paused_blocks)
        return "paused"
    action = Action(command.verb)
    result = await operations.change(caller, action, command.target, command.rest, command.duration)
    return await report(services, replies, result, user_id, command.rest)


async def run_roles(
    operations: Operations, replies: Replies, user_id: str, command: RolesCommand
) -> str:
    """`/convoy roles grant|revoke|list` for admins."""
    if command.problem:
        await operations.require(user_id, "roles")  # non-admins learn they may not, first
        await replies.private(f":warning: {blocks.escape(command.problem)}")
        return "invalid"
    if command.action == "list":
        grants = await operations.list_roles(user_id, command.project)
        await replies.private(blocks.roles_message(grants, command.project))
        return "roles list"
    if command.action == "grant":
        role = Role.parse(command.role)
        await operations.grant_role(user_id, command.subject, role, command.project)
        await replies.private(blocks.role_granted_message(command.subject, role, command.project))
        return "roles grant"
    removed = await operations.revoke_role(user_id, command.subject, command.project)
    await replies.private(blocks.role_revoked_message(command.subject, command.project, removed))
    return "roles revoke"
