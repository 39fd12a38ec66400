"""Private answers: help, status, list, audit, roles, and errors."""

from __future__ import annotations

from collections.abc import Sequence

from bot.access.roles import Grant, Role
from bot.audit import AuditEntry
from bot.errors import AlreadyHandled, BotError, Forbidden
from bot.failure_rates import rate_of
from bot.models import Endpoint, EndpointStatus
from bot.project import Project
from bot.projects.catalog import AskWhich
from bot.projects.channel_admin import ProjectView, Rebound
from handlers import ids
from handlers.blocks.kit import (
    SECTION_LIMIT,
    STATUS_ICON,
    Message,
    actions,
    button,
    endpoint_ref,
    escape,
    mention,
    scope_name,
    section,
    sections,
    shown,
    status_word,
)
from handlers.buttons import ProjectPickValue

MAX_LISTED = 40
MAX_PROJECT_BUTTONS = 25  # Slack allows 25 elements in one actions block
MAX_ROLE_LINES = 60


def help_message(
    role: Role | None, project: Project | None, several: bool, problem: str = ""
) -> str:
    """Usage, which project this channel acts on (when there are several), and the caller's
    own role there."""
    lines = [f":warning: {shown(problem, SECTION_LIMIT // 2)}", ""] if problem else []
    lines += [
        "*/convoy* — pause, resume and inspect Convoy endpoints",
        "• `/convoy status <endpoint>` — name, uid, status, host, failure rate (viewer)",
        "• `/convoy list [search]` — endpoints, paused first (viewer)",
        "• `/convoy paused` — what the bot paused: who, when, why, auto-resume (viewer)",
        "• `/convoy pause <endpoint> [for 30m] [reason…]` — pause now (operator) or ask "
        "(requester); `for 30m` (or `--for 30m`) resumes it automatically",
        "• `/convoy resume <endpoint> [reason…]` — resume a paused endpoint",
        "• `/convoy pause` or `/convoy resume` alone — a form with an endpoint menu",
        "• `/convoy audit [endpoint] [--limit N]` — who changed what, newest first (viewer)",
        "• `/convoy watch` — what the bot watches here: failing endpoints, thresholds (viewer)",
        "• `/convoy watch snooze <endpoint> 2h` / `watch off|on <endpoint>` — no failing "
        "card for a while, or until `on` (operator)",
        "• `/convoy roles grant|revoke|list …` — manage roles (admin)",
        "• `/convoy projects` — the projects you can see, and which one this channel acts on",
        "• `/convoy bind <project> [--notify @group]` / `/convoy unbind` — make this channel "
        "act on a project; `--notify` mentions the group on failing cards (admin of that "
        "project)",
        "• `/convoy help` — this message",
        'Names with spaces go in quotes: `/convoy pause "Orders API" bad payloads`. '
        "Add `--project <alias>` (or `-p <alias>`) to act on another project.",
        "",
    ]
    if project is None:
        lines.append(
            "This channel is not bound to a project, and the bot serves several: name one "
            "with `--project`, or bind the channel."
        )
    elif several:
        lines.append(
            f"This channel acts on project `{escape(project.alias)}`. "
            f"Your role there: *{_role_label(role)}*."
        )
    else:
        lines.append(f"Your role: *{_role_label(role)}*.")
    return "\n".join(lines)


def projects_message(
    views: Sequence[ProjectView], bound: Project | None, channel_id: str
) -> Message:
    """`/convoy projects`: the projects the caller has a role in, and this channel's."""
    here = (
        f"<#{channel_id}> acts on `{escape(bound.alias)}`."
        if bound
        else f"<#{channel_id}> is not bound to a project."
    )
    if not views:
        text = f"You have no role in any project yet. {here}"
        return text, [section(text)]
    lines = []
    for view in views:
        channels = ", ".join(f"<#{c}>" for c in view.channels) or "no channel bound"
        project = view.project
        lines.append(
            f"• `{escape(project.alias)}` — Convoy project `{escape(project.project_id)}` "
            f"at `{escape(project.api_url)}`; your role: *{view.role.label}*; {channels}"
        )
    return sections(f"*Projects* ({len(views)}). {here}", lines)


def bound_message(rebound: Rebound, channel_id: str, group_id: str = "") -> str:
    project = rebound.project
    was = (
        f" It no longer acts on project `{escape(rebound.replaced.alias)}`: that project's "
        "changes and cards are not told here any more."
        if rebound.replaced is not None
        else ""
    )
    notify = (
        f" Failing and disabled endpoints' cards here mention <!subteam^{escape(group_id)}>."
        if group_id
        else ""
    )
    return (
        f":white_check_mark: <#{channel_id}> now acts on project `{escape(project.alias)}`: "
        f"endpoint names resolve there, and its changes are told here too.{was}{notify}"
    )


def unbound_message(project: Project | None, channel_id: str) -> str:
    if project is None:
        return f":information_source: <#{channel_id}> was not bound to a project."
    return (
        f":white_check_mark: <#{channel_id}> no longer acts on project `{escape(project.alias)}`."
    )


def picked_message(project: Project, text: str) -> Message:
    """The project question, answered: what runs where."""
    line = (
        f":arrow_forward: Running `/convoy {shown(text, 200)}` in project "
        f"`{escape(project.alias)}`."
    )
    return line, [section(line)]


def project_question(ask: AskWhich, verb: str) -> Message:
    """Several projects and none named or bound: one button per project runs the command."""
    text = (
        f"This channel is not bound to a project, and the bot serves several. Which project "
        f"is your `{escape(verb)}` for? Nothing changes until you pick one. "
        "(To skip this question: add `--project <alias>`, or bind the channel with "
        "`/convoy bind <alias>`.)"
    )
    buttons = [
        button(
            f"{ids.PICK_PROJECT}_{index}",
            project.alias,
            ProjectPickValue(command_id=ask.command_id, alias=project.alias).encode(),
        )
        for index, project in enumerate(ask.projects[:MAX_PROJECT_BUTTONS])
    ]
    return text, [section(text), actions("projects", *buttons)]


def _role_label(role: Role | None) -> str:
    if role is None:
        return "unknown (the access store is unavailable)"
    return role.label if role else "none"


def status_message(endpoint: Endpoint) -> Message:
    icon = STATUS_ICON[endpoint.status]
    text = (
        f"{icon} {endpoint_ref(endpoint)} is *{status_word(endpoint.status)}*\n"
        f"Host: `{escape(endpoint.url_host)}` · Failure rate: {rate_of(endpoint).describe()}"
    )
    return text, [section(text)]


def list_message(endpoints: Sequence[Endpoint], search: str) -> Message:
    """Endpoints with their status, paused first, then inactive, then active."""
    if not endpoints:
        where = f" matching '{shown(search)}'" if search else ""
        text = f"No endpoints{where}."
        return text, [section(text)]
    order = {EndpointStatus.PAUSED: 0, EndpointStatus.INACTIVE: 1}
    ranked = sorted(endpoints, key=lambda e: (order.get(e.status, 2), e.label.casefold()))
    lines = [
        f"{STATUS_ICON[e.status]} {endpoint_ref(e)} — {status_word(e.status)}"
        for e in ranked[:MAX_LISTED]
    ]
    paused = sum(1 for e in endpoints if e.status is EndpointStatus.PAUSED)
    header = f"*{len(endpoints)} endpoint(s)*, {paused} paused"
    if search:
        header += f", matching '{shown(search)}'"
    if len(ranked) > MAX_LISTED:
        lines.append(
            f"…and {len(ranked) - MAX_LISTED} more; narrow it with `/convoy list <search>`."
        )
    return sections(header, lines)


def audit_message(entries: Sequence[AuditEntry], endpoint: str) -> Message:
    """The latest audit entries, newest first, one line each."""
    about = f" for '{shown(endpoint)}'" if endpoint else ""
    if not entries:
        text = f"No audit entries{about}."
        return text, [section(text)]
    lines = []
    for entry in entries:
        who = f"<@{escape(entry.actor)}>" if entry.actor else "the bot"
        approver = f", approved by <@{escape(entry.approver)}>" if entry.approver else ""
        target = f" *{shown(entry.endpoint_name)}*" if entry.endpoint_name else ""
        convoy = f" (Convoy {escape(entry.convoy_status)})" if entry.convoy_status else ""
        detail = f" — {shown(entry.detail, 120)}" if entry.outcome in ("refused", "failed") else ""
        lines.append(
            f"`{escape(entry.time)}` {who}{approver}: {escape(entry.command)}{target} → "
            f"*{escape(entry.outcome)}*{convoy}{detail}"
        )
    header = f"*Audit trail{about}*, newest first ({len(entries)})"
    return sections(header, lines)


def roles_message(grants: Sequence[Grant], project: str) -> str:
    if not grants:
        return f"No roles are granted in {scope_name(project)}."
    lines = [f"*Roles in {scope_name(project)}*"]
    lines += [
        f"• {mention(g.subject)} — *{g.role.label}* in {scope_name(g.project)}" for g in grants
    ]
    return "\n".join(lines[:MAX_ROLE_LINES])


def role_granted_message(subject: str, role: Role, project: str) -> str:
    return f":white_check_mark: {mention(subject)} is now *{role.label}* in {scope_name(project)}."


def role_revoked_message(subject: str, project: str, removed: bool) -> str:
    if removed:
        return (
            f":white_check_mark: {mention(subject)} no longer has a role in {scope_name(project)}."
        )
    return f":information_source: {mention(subject)} had no role in {scope_name(project)}."


def error_message(error: BotError) -> str:
    """A private explanation of what went wrong; mentions of who can help where known."""
    if isinstance(error, AlreadyHandled):
        return already_handled_message(error)
    text = f":x: {shown(error.message, SECTION_LIMIT // 2)}"
    if isinstance(error, Forbidden) and error.grantors:
        text += " Admins: " + ", ".join(mention(user) for user in error.grantors) + "."
    elif isinstance(error, Forbidden):
        text += " No admin is set up yet: the bot's operators list admins in CONVOY_BOT_ADMINS."
    return text


def already_handled_message(error: AlreadyHandled) -> str:
    by = f" by <@{escape(error.by)}>" if error.by else ""
    return f":information_source: {escape(error.message.rstrip('.'))}{by}. Nothing more was done."
