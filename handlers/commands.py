"""The `/convoy` slash command: parse, ack with a private note, then one use case after the ack.

A command acts in one project: the one it names (`--project ALIAS` / `-p ALIAS`), else its
channel's, else the only one; with several and none named or bound, the caller is asked
(bot.projects.catalog.ProjectChoice). Each subcommand is a small function given the use case it
calls in that project.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.access.policy import Access
from bot.access.role_admin import RoleAdmin
from bot.access.roles import Role
from bot.background import BackgroundTasks
from bot.change.model import Caller
from bot.clock import Clock
from bot.commands.changing import Changing
from bot.commands.paused_list import PausedList
from bot.commands.reading import Reading
from bot.errors import AccessStoreUnavailable
from bot.metrics import Metrics
from bot.models import Action
from bot.projects.catalog import AskWhich, ProjectChoice
from bot.projects.channel_admin import ChannelAdmin
from bot.watch.actions import Snoozing
from bot.watch.view import WatchView
from handlers import ids
from handlers.blocks.changes import working_note
from handlers.blocks.kit import endpoint_ref, escape
from handlers.blocks.reads import (
    audit_message,
    bound_message,
    help_message,
    list_message,
    picked_message,
    project_question,
    projects_message,
    role_granted_message,
    role_revoked_message,
    roles_message,
    unbound_message,
)
from handlers.blocks.timers import paused_message
from handlers.blocks.watch import tuned_line, watch_message
from handlers.forms import Forms, is_form_command
from handlers.outcomes import Reporter
from handlers.parsing import (
    REASON_VERBS,
    Command,
    parse,
    parse_audit,
    parse_roles,
    parse_watch,
    projects_in_reason,
    take_notify,
    take_project,
)
from handlers.replies import Replies
from handlers.runtime import Runtimes
from handlers.server import TurnAway
from handlers.watch_cards import WatchCards
from handlers.work import BUSY, Worker, bound_reached

# A command's work in its project: `(replies, caller, command, ...)`, each further parameter
# one of the project's services by its type (handlers.runtime).
InProject = Callable[..., Awaitable[str]]


def register(
    app: AsyncApp,
    worker: Worker,
    *,
    runtimes: Runtimes,
    choice: ProjectChoice,
    channels: ChannelAdmin,
    role_admin: RoleAdmin,
    clock: Clock,
    forms: Forms,
) -> Commands:
    """Wire `/convoy`; the Commands object also runs a command whose project was just picked."""
    commands = Commands(runtimes, choice, channels, role_admin, clock)
    app.command(ids.SLASH_COMMAND)(
        partial(convoy_command, worker=worker, commands=commands, forms=forms)
    )
    return commands


def busy_refusal(tasks: BackgroundTasks, metrics: Metrics, max_pending: int) -> TurnAway:
    """The server's answer to a slash command while CONVOY_BOT_MAX_PENDING pieces of work are
    in progress, before Bolt sees it: `convoy_command`'s own refusal, for a fraction of its
    cost. At three times capacity two commands in three are refused; refused through Bolt,
    they left the core half the pauses (101 against 205 completed a second; figures in
    docs/operating.md). A form command still reaches Bolt (its form opens in the ack, taking
    on no work), and so does everything else that is not our command."""

    def turned_away(fields: dict[str, Any]) -> dict[str, str] | None:
        if fields.get("command") != ids.SLASH_COMMAND or not bound_reached(tasks, max_pending):
            return None
        _, text = take_project(str(fields.get("text", "")))
        if is_form_command(text):
            return None
        metrics.busy_refusals.labels(parse(text).verb).inc()
        return {"response_type": "ephemeral", "text": BUSY}

    return turned_away


async def convoy_command(  # noqa: PLR0917  # Bolt passes its own arguments by name
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    worker: Worker,
    commands: Commands,
    forms: Forms,
) -> None:
    named, text = take_project(str(command.get("text", "")))
    if is_form_command(text):
        # `/convoy pause` (or `resume`) alone: the form asks for the rest.
        await forms.for_command(ack, command, respond, client, text=text, named=named)
        return
    parsed = parse(text)
    caller = Caller(
        str(command.get("user_id", "")),
        str(command.get("channel_id", "")),
        str(command.get("trigger_id", "")),
    )
    replies = worker.replies(respond, client, caller.channel_id)
    work = commands.run(replies, caller, text, named)
    if not worker.take(parsed.verb, replies, work, caller.user_id):
        await ack(response_type="ephemeral", text=BUSY)
    elif parsed.verb in ("pause", "resume") and parsed.valid:
        await ack(response_type="ephemeral", text=working_note(parsed.verb, parsed.target))
    else:
        await ack()


class Commands:
    """Runs one `/convoy` command: picks its project, then the subcommand there."""

    def __init__(
        self,
        runtimes: Runtimes,
        choice: ProjectChoice,
        channels: ChannelAdmin,
        role_admin: RoleAdmin,
        clock: Clock,
    ) -> None:
        self._runtimes = runtimes
        self._choice = choice
        self._channels = channels
        self._role_admin = role_admin
        self._in_project: Mapping[str, InProject] = {
            "list": run_list,
            "status": run_status,
            "audit": run_audit,
            "paused": partial(run_paused, clock=clock),
            "watch": partial(run_watch, clock=clock),
            "pause": run_change,
            "resume": run_change,
        }

    async def run(self, replies: Replies, caller: Caller, text: str, named: str) -> str:
        """The work behind one command; a short result label for metrics."""
        command = parse(text)
        if not command.valid and command.verb != "help":
            await replies.private(f":warning: {escape(command.problem)}")
            return "invalid"
        match command.verb:
            case "help":
                return await self._help(replies, caller, command, named)
            case "roles":
                return await run_roles(replies, caller, command, self._role_admin)
            case "projects":
                views = await self._channels.overview(caller.user_id)
                bound = await self._channels.bound(caller.channel_id)
                await replies.private(*projects_message(views, bound, caller.channel_id))
                return "projects"
            case "bind":
                group, alias, problem = take_notify(command.rest)
                if problem:
                    await replies.private(f":warning: {escape(problem)}")
                    return "invalid"
                rebound = await self._channels.bind(
                    caller.user_id, caller.channel_id, alias.strip() or named, group
                )
                await replies.private(bound_message(rebound, caller.channel_id, group))
                return "bind"
            case "unbind":
                was = await self._channels.unbind(caller.user_id, caller.channel_id)
                await replies.private(unbound_message(was, caller.channel_id))
                return "unbind"
        picked = await self._choice.pick(caller.user_id, caller.channel_id, named, text)
        if isinstance(picked, AskWhich):
            await replies.private(*project_question(picked, command.verb))
            return "project asked"
        if not named and command.verb in REASON_VERBS:
            await self._choice.check_reason(
                caller.user_id, picked, projects_in_reason(command.rest)
            )
        runtime = await self._runtimes.for_project(picked)
        logs.note(project=picked.alias)
        return await runtime.run(self._in_project[command.verb], replies, caller, command)

    async def run_picked(
        self, replies: Replies, caller: Caller, command_id: str, alias: str
    ) -> str:
        """The kept command of a project question, run in the project its caller picked."""
        pending = await self._choice.answer(command_id, caller.user_id)
        project = await self._choice.named(alias, caller.user_id)
        await replies.update("", *picked_message(project, pending.text))
        here = Caller(caller.user_id, pending.channel_id, caller.trigger)
        return await self.run(replies, here, pending.text, project.alias)

    async def _help(self, replies: Replies, caller: Caller, command: Command, named: str) -> str:
        project = await self._channels.acting_on(caller.channel_id, named)
        role: Role | None = None
        several = True
        if project is not None:
            runtime = await self._runtimes.for_project(project)
            several = runtime.get(Reporter).several
            with contextlib.suppress(AccessStoreUnavailable):  # usage needs no store
                role = await runtime.get(Access).role_of(caller.user_id)
        await replies.private(help_message(role, project, several, command.problem))
        return "help"


async def run_list(
    replies: Replies, caller: Caller, command: Command, *, reading: Reading, reporter: Reporter
) -> str:
    endpoints = await reading.list_endpoints(caller.user_id, command.rest)
    await replies.private(*reporter.marked(list_message(endpoints, command.rest)))
    return "list"


async def run_status(
    replies: Replies, caller: Caller, command: Command, *, reading: Reading, reporter: Reporter
) -> str:
    found = await reading.status(caller.user_id, command.target)
    return await reporter.report(replies, found, caller.user_id, "")


async def run_audit(
    replies: Replies, caller: Caller, command: Command, *, reading: Reading, reporter: Reporter
) -> str:
    query = parse_audit(command.rest)
    if query.problem:
        await replies.private(f":warning: {escape(query.problem)}")
        return "invalid"
    entries = await reading.audit_trail(caller.user_id, query.endpoint, query.limit)
    await replies.private(*reporter.marked(audit_message(entries, query.endpoint)))
    return "audit"


async def run_paused(
    replies: Replies,
    caller: Caller,
    command: Command,
    *,
    paused: PausedList,
    reporter: Reporter,
    clock: Clock,
) -> str:
    held = await paused.paused(caller.user_id)
    await replies.private(*reporter.marked(paused_message(held, clock.now())))
    return "paused"


async def run_watch(
    replies: Replies,
    caller: Caller,
    command: Command,
    *,
    view: WatchView,
    snoozing: Snoozing,
    reporter: Reporter,
    cards: WatchCards,
    clock: Clock,
) -> str:
    asked = parse_watch(command.rest)
    if asked.problem:
        await replies.private(f":warning: {escape(asked.problem)}")
        return "invalid"
    if asked.action == "show":
        overview = await view.overview(caller.user_id)
        await replies.private(*reporter.marked(watch_message(overview)))
        return "watch"
    user_id = caller.user_id
    endpoint, until = await snoozing.tune(user_id, asked.action, asked.target, asked.duration)
    line = tuned_line(user_id, until)
    await cards.close(endpoint.uid, line)  # a card open now says so too
    await replies.private(f"{endpoint_ref(endpoint)}: {line}")
    return f"watch {asked.action}"


async def run_change(
    replies: Replies, caller: Caller, command: Command, *, changing: Changing, reporter: Reporter
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
        await role_admin.grants(user_id, None)  # non-admins learn they may not, first
        await replies.private(f":warning: {escape(roles.problem)}")
        return "invalid"
    if roles.action == "list":
        where = None if roles.project in ("", "*") else await role_admin.scope(roles.project)
        grants = await role_admin.grants(user_id, where)
        await replies.private(roles_message(grants, where.name if where else "*"))
        return "roles list"
    where = await role_admin.scope(roles.project)
    if roles.action == "grant":
        role = Role.parse(roles.role)
        await role_admin.grant(user_id, roles.subject, role, where)
        await replies.private(role_granted_message(roles.subject, role, where.name))
        return "roles grant"
    removed = await role_admin.revoke(user_id, roles.subject, where)
    await replies.private(role_revoked_message(roles.subject, where.name, removed))
    return "roles revoke"
