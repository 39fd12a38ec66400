"""Private answers: help, status, list, audit, roles, and errors."""

from __future__ import annotations

from collections.abc import Sequence

from bot.audit import AuditEntry
from bot.errors import AlreadyHandled, BotError, Forbidden
from bot.models import Endpoint, EndpointStatus
from bot.roles import Grant, Role
from handlers.blocks.kit import (
    SECTION_LIMIT,
    STATUS_ICON,
    Message,
    endpoint_ref,
    escape,
    mention,
    scope_name,
    section,
    sections,
    shown,
    status_word,
)

MAX_LISTED = 40
MAX_ROLE_LINES = 60


def help_message(role: Role | None, project: str, problem: str = "") -> str:
    """Usage, and the caller's own role."""
    lines = [f":warning: {shown(problem, SECTION_LIMIT // 2)}", ""] if problem else []
    lines += [
        "*/convoy* — pause, resume and inspect Convoy endpoints",
        "• `/convoy status <endpoint>` — name, uid, status, host, failure rate (viewer)",
        "• `/convoy list [search]` — endpoints, paused first (viewer)",
        "• `/convoy paused` — what the bot paused: who, when, why, auto-resume (viewer)",
        "• `/convoy pause <endpoint> [for 30m] [reason…]` — pause now (operator) or ask "
        "(requester); `for 30m` (or `--for 30m`) resumes it automatically",
        "• `/convoy resume <endpoint> [reason…]` — resume a paused endpoint",
        "• `/convoy audit [endpoint] [--limit N]` — who changed what, newest first (viewer)",
        "• `/convoy roles grant|revoke|list …` — manage roles (admin)",
        "• `/convoy help` — this message",
        'Names with spaces go in quotes: `/convoy pause "Orders API" bad payloads`.',
        "",
        f"Project: `{shown(project)}`. Your role: *{_role_label(role)}*.",
    ]
    return "\n".join(lines)


def _role_label(role: Role | None) -> str:
    if role is None:
        return "unknown (the access store is unavailable)"
    return role.label if role else "none"


def _rate(endpoint: Endpoint) -> str:
    rate = (
        endpoint.failure_rate if endpoint.failure_rate is not None else endpoint.period_failure_rate
    )
    return "n/a" if rate is None else f"{rate:.1f}%"


def status_message(endpoint: Endpoint) -> Message:
    icon = STATUS_ICON[endpoint.status]
    text = (
        f"{icon} {endpoint_ref(endpoint)} is *{status_word(endpoint.status)}*\n"
        f"Host: `{escape(endpoint.url_host)}` · Failure rate: {_rate(endpoint)}"
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
