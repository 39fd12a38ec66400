"""Pure Block Kit builders: every message the bot sends, with its plain-text fallback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.approvals import ApprovalRequest, RequestState
from bot.audit import AuditEntry
from bot.changes import Action, Change, Outcome, ResumeSummary
from bot.durations import describe
from bot.errors import AlreadyHandled, BotError, Forbidden
from bot.holds import Hold
from bot.models import Endpoint, EndpointStatus
from bot.operations import HeldPause
from bot.resolver import Candidates
from bot.roles import GLOBAL_SCOPE, Grant, Role, is_group
from handlers import ids

Block = dict[str, Any]
MAX_LISTED = 40
MAX_REASON = 500
MAX_BLOCKS = 45  # Slack allows 50 per message; leave room
EXTEND_BY = timedelta(minutes=30)

STATUS_ICON = {
    EndpointStatus.ACTIVE: ":large_green_circle:",
    EndpointStatus.PAUSED: ":double_vertical_bar:",
    EndpointStatus.INACTIVE: ":red_circle:",
    EndpointStatus.UNKNOWN: ":grey_question:",
}


def escape(text: str) -> str:
    """Escape user text for mrkdwn, so `<!channel>` or `<http://x|y>` stay inert."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def note(text: str) -> Block:
    """A small grey line under a message (escaped: it may hold anything)."""
    return _context(escape(text))


def _status_word(status: EndpointStatus) -> str:
    return status.value or "unknown"


def _endpoint_ref(endpoint: Endpoint) -> str:
    return f"*{escape(endpoint.label)}* (`{escape(endpoint.uid)}`)"


def _when(moment: datetime) -> str:
    stamp = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time_secs}}|{fallback}> ({fallback})"


def _reason(reason: str) -> str:
    if not reason:
        return "_no reason given_"
    short = reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…"
    return escape(short)


def _rate(endpoint: Endpoint) -> str:
    rate = (
        endpoint.failure_rate if endpoint.failure_rate is not None else endpoint.period_failure_rate
    )
    return "n/a" if rate is None else f"{rate:.1f}%"


def help_message(role: Role | None, project: str, problem: str = "") -> str:
    """Usage, and the caller's own role."""
    lines = [f":warning: {escape(problem)}", ""] if problem else []
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
        f"Project: `{escape(project)}`. Your role: *{_role_label(role)}*.",
    ]
    return "\n".join(lines)


def _role_label(role: Role | None) -> str:
    if role is None:
        return "unknown (the access store is unavailable)"
    return role.label if role else "none"


def _sections(header: str, lines: Sequence[str]) -> tuple[str, list[Block]]:
    """A header and lines packed into sections by length (3,000 characters each), at most
    45 blocks; what does not fit is counted, never silently dropped."""
    blocks = [_section(header)]
    current: list[str] = []
    size = 0
    shown = 0
    for full_line in lines:
        line = full_line[:2900]
        if current and size + len(line) + 1 > 2900:
            if len(blocks) == MAX_BLOCKS - 1:
                break
            blocks.append(_section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        shown += 1
    if current:
        blocks.append(_section("\n".join(current)))
    if shown < len(lines):
        blocks.append(_context(f"…and {len(lines) - shown} more not shown."))
    return header + "\n" + "\n".join(lines), blocks


def status_message(endpoint: Endpoint) -> tuple[str, list[Block]]:
    icon = STATUS_ICON[endpoint.status]
    text = (
        f"{icon} {_endpoint_ref(endpoint)} is *{_status_word(endpoint.status)}*\n"
        f"Host: `{escape(endpoint.url_host)}` · Failure rate: {_rate(endpoint)}"
    )
    return text, [_section(text)]


def list_message(endpoints: Sequence[Endpoint], search: str) -> tuple[str, list[Block]]:
    """Endpoints with their status, paused first, then inactive, then active."""
    if not endpoints:
        where = f" matching '{escape(search)}'" if search else ""
        text = f"No endpoints{where}."
        return text, [_section(text)]
    order = {EndpointStatus.PAUSED: 0, EndpointStatus.INACTIVE: 1}
    ranked = sorted(endpoints, key=lambda e: (order.get(e.status, 2), e.label.casefold()))
    lines = [
        f"{STATUS_ICON[e.status]} {_endpoint_ref(e)} — {_status_word(e.status)}"
        for e in ranked[:MAX_LISTED]
    ]
    paused = sum(1 for e in endpoints if e.status is EndpointStatus.PAUSED)
    header = f"*{len(endpoints)} endpoint(s)*, {paused} paused"
    if search:
        header += f", matching '{escape(search)}'"
    if len(ranked) > MAX_LISTED:
        lines.append(
            f"…and {len(ranked) - MAX_LISTED} more; narrow it with `/convoy list <search>`."
        )
    return _sections(header, lines)


def working_note(verb: str, target: str) -> str:
    gerund = {"pause": "Pausing", "resume": "Resuming"}.get(verb, "Working on")
    return f":hourglass_flowing_sand: {gerund} *{escape(target)}*…"


def change_announcement(
    change: Change, actor_id: str, reason: str, when: datetime, approver_id: str = ""
) -> tuple[str, list[Block]]:
    """The in-channel record of a pause or resume that happened (no buttons)."""
    endpoint = change.endpoint
    verb = "paused" if change.action is Action.PAUSE else "resumed"
    icon = ":double_vertical_bar:" if change.action is Action.PAUSE else ":arrow_forward:"
    approved = f", approved by <@{approver_id}>" if approver_id else ""
    headline = f"{icon} {_endpoint_ref(endpoint)} was *{verb}* by <@{actor_id}>{approved}"
    if not change.changed:
        # The write went wrong in a way that may have changed the endpoint: say so loudly.
        asked = "pause" if change.action is Action.PAUSE else "resume"
        verb = f"not {verb} as asked"
        headline = (
            f":warning: The {asked} of {_endpoint_ref(endpoint)} by <@{actor_id}>{approved} "
            f"did not go as asked. Status now: *{_status_word(endpoint.status)}*. "
            "Check it and act again if needed."
        )
    body = (
        f"*New status:* {_status_word(endpoint.status)}\n"
        f"*Reason:* {_reason(reason)}\n"
        f"*When:* {_when(when)}"
    )
    if change.hold is not None and change.hold.resume_at:
        body += "\n" + auto_resume_line(change.hold, when)
    blocks = [_section(headline), _section(body)]
    if change.resumed is not None:
        blocks.append(_section(resume_summary_line(change.resumed)))
    if change.detail:
        blocks.append(_context(escape(change.detail)))
    text = (
        f"{escape(endpoint.label)} ({escape(endpoint.uid)}) was {verb} by <@{actor_id}>{approved}. "
        f"New status: {_status_word(endpoint.status)}. Reason: {escape(reason) or 'none given'}."
    )
    return text, blocks


def channel_announcement(
    change: Change, actor_id: str, reason: str, when: datetime, webhook_summary: str
) -> tuple[str, list[Block]]:
    """The announcement plus the webhook result and, after a pause, its buttons."""
    text, blocks = change_announcement(change, actor_id, reason, when)
    blocks = [*blocks, _context(escape(webhook_summary))]
    if change.outcome is Outcome.PAUSED:
        blocks.append(resume_actions(change.endpoint, change.hold))
    if change.resumed is not None and change.resumed.discarded:
        blocks.append(retry_actions(change.endpoint, change.resumed))
    return f"{text} {webhook_summary}", blocks


def resume_actions(endpoint: Endpoint, hold: Hold | None = None) -> Block:
    """Resume (now), and for a timed pause Extend and Keep paused too."""
    # Values only identify things: every click re-checks the role and the state.
    buttons = [
        _button(
            ids.RESUME_BUTTON,
            "Resume now" if hold and hold.resume_at else "Resume",
            json.dumps({"uid": endpoint.uid, "hold": hold.hold_id if hold else ""}),
            "primary",
        )
    ]
    if hold is not None and hold.resume_at:
        buttons.append(extend_button(hold, hold.resume_at))
        buttons.append(
            _button(
                ids.KEEP_BUTTON,
                "Keep paused",
                json.dumps({"uid": hold.uid, "hold": hold.hold_id}),
            )
        )
    return _actions("resume", *buttons)


def extend_button(hold: Hold, due: str) -> Block:
    label = f"Extend {describe(EXTEND_BY)}"
    return _button(
        ids.EXTEND_BUTTON, label, json.dumps({"uid": hold.uid, "hold": hold.hold_id, "due": due})
    )


def retry_actions(endpoint: Endpoint, summary: ResumeSummary) -> Block:
    window = {
        "uid": endpoint.uid,
        "start": int(summary.paused_since.timestamp()),
        "end": int(summary.resumed_at.timestamp()) + 1,
    }
    return _actions(
        "retry", _button(ids.RETRY_DISCARDED, "Retry discarded events", json.dumps(window))
    )


def _relative(moment: datetime, now: datetime) -> str:
    return describe(max(moment - now, timedelta(0)))


def auto_resume_line(hold: Hold, now: datetime) -> str:
    due = hold.resumes_at
    if due is None:
        return "*Auto-resume:* none (stays paused until someone resumes it)"
    return f"*Auto-resume:* {_when(due)}, in {_relative(due, now)}"


def resume_summary_line(summary: ResumeSummary) -> str:
    since = "" if summary.known_start else "about "
    lasted = (
        f"Paused for {since}{describe(summary.paused_for)} (since {_when(summary.paused_since)})."
    )
    if summary.discarded is None:
        return (
            f"{lasted} Convoy could not say how many deliveries it discarded meanwhile: "
            f"{escape(summary.problem)}"
        )
    if summary.discarded == 0:
        return f"{lasted} Convoy discarded no event deliveries meanwhile."
    many = f"{summary.discarded}" if summary.counted_all else f"more than {summary.discarded}"
    return (
        f"{lasted} Convoy *discarded {many} event deliveries* meanwhile; "
        "an operator can send them again with *Retry discarded events*."
    )


def unchanged_message(change: Change) -> str:
    """Private explanation when a pause or resume changed nothing."""
    ref = _endpoint_ref(change.endpoint)
    status = _status_word(change.endpoint.status)
    detail = f" {escape(change.detail)}" if change.detail else ""
    match change.outcome:
        case Outcome.ALREADY_PAUSED:
            return f":information_source: {ref} is already paused. Nothing was changed."
        case Outcome.ALREADY_ACTIVE:
            return f":information_source: {ref} is already active. Nothing was changed."
        case Outcome.INACTIVE if change.action is Action.PAUSE:
            return (
                f":no_entry: {ref} is *{status}*: Convoy disabled it after repeated delivery "
                "failures, so it cannot be paused (it receives nothing already). "
                "Nothing was changed."
            )
        case Outcome.INACTIVE:
            return (
                f":no_entry: {ref} is *{status}*, not paused: Convoy disabled it after "
                "repeated delivery failures. Re-enabling it needs an explicit confirmation. "
                "Nothing was changed."
            )
        case Outcome.NOT_CHANGED:
            return f":x: The {change.action.value} of {ref} did not take effect.{detail}"
        case Outcome.UNCONFIRMED:
            return f":warning: The {change.action.value} of {ref} could not be confirmed.{detail}"
        case _:
            return f":warning: {ref} is now *{status}*, not what was asked.{detail}"


def choice_message(verb: str, candidates: Candidates, choice_id: str) -> tuple[str, list[Block]]:
    """One button per candidate; the value names the stored question and the endpoint."""
    text = f"Several endpoints match '{escape(candidates.query)}'. Which one do you want to {verb}?"
    buttons = [
        {
            "type": "button",
            "action_id": f"{ids.PICK_ENDPOINT}_{index}",
            "text": {"type": "plain_text", "text": f"{e.label[:60]} ({_status_word(e.status)})"},
            "value": f"{choice_id}:{e.uid}",
        }
        for index, e in enumerate(candidates.endpoints)
    ]
    return text, [_section(text), {"type": "actions", "block_id": "pick", "elements": buttons}]


def error_message(error: BotError) -> str:
    """A private explanation of what went wrong; mentions of who can help where known."""
    if isinstance(error, AlreadyHandled):
        return already_handled_message(error)
    text = f":x: {escape(error.message)}"
    if isinstance(error, Forbidden) and error.grantors:
        text += " Admins: " + ", ".join(_subject(user) for user in error.grantors) + "."
    elif isinstance(error, Forbidden):
        text += " No admin is set up yet: the bot's operators list admins in CONVOY_BOT_ADMINS."
    return text


def _actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def _button(action_id: str, label: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label[:75]},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _request_ref(request: ApprovalRequest) -> str:
    return f"*{escape(request.endpoint_name)}* (`{escape(request.endpoint_uid)}`)"


def _request_story(request: ApprovalRequest) -> list[Block]:
    """Who asked for what and why: kept when the message is updated with the outcome."""
    status = request.endpoint_status or "unknown"
    risk = ""
    if request.action is Action.RESUME and request.endpoint_status == EndpointStatus.INACTIVE:
        risk = (
            "\n:warning: Convoy *disabled* this endpoint after repeated delivery failures. "
            "Approving re-enables traffic Convoy cut off."
        )
    return [
        _section(
            f":raising_hand: <@{request.requester}> asks to *{request.action.value}* "
            f"{_request_ref(request)}"
            + (f" for *{describe(request.duration)}*" if request.duration else "")
        ),
        _section(
            f"*Status when asked:* {escape(status)}\n"
            f"*Reason:* {_reason(request.reason)}\n"
            f"*Asked:* {_when(request.created_at)}{risk}"
        ),
    ]


def request_message(request: ApprovalRequest) -> tuple[str, list[Block]]:
    """The in-channel approval request with Approve and Deny buttons."""
    timed = f" for {describe(request.duration)}" if request.duration else ""
    text = (
        f"<@{request.requester}> asks to {request.action.value} {escape(request.endpoint_name)}"
        f"{timed}: {escape(request.reason) or 'no reason given'}. "
        "An approver must approve or deny."
    )
    blocks = [
        *_request_story(request),
        _context(f"Expires {_when(request.expires_at)} · approvers decide; not the requester."),
        _actions(
            "decide",
            _button(ids.APPROVE_BUTTON, "Approve", request.id, "primary"),
            _button(ids.DENY_BUTTON, "Deny", request.id, "danger"),
        ),
    ]
    return text, blocks


def decision_message(
    request: ApprovalRequest,
    state: RequestState,
    change: Change | None,
    when: datetime,
    webhook_summary: str = "",
) -> tuple[str, list[Block]]:
    """The request message after its decision: the story, the outcome, no Approve/Deny."""
    blocks = _request_story(request)
    decider = f"<@{request.decided_by}>" if request.decided_by else "nobody"
    if state is RequestState.EXPIRED:
        outcome = f":hourglass: Expired at {_when(request.expires_at)}. Nothing was changed."
    elif state is RequestState.DENIED:
        outcome = f":no_entry_sign: *Denied* by {decider} at {_when(when)}. Nothing was changed."
    elif change is not None and change.changed:
        done = "paused" if change.action is Action.PAUSE else "resumed"
        outcome = (
            f":white_check_mark: *Approved* by {decider} at {_when(when)}: "
            f"{_endpoint_ref(change.endpoint)} was *{done}*. "
            f"New status: {_status_word(change.endpoint.status)}."
        )
    elif change is not None:
        outcome = (
            f":white_check_mark: *Approved* by {decider} at {_when(when)}, but: "
            + (unchanged_message(change).split(" ", 1)[1])
        )
    else:
        outcome = f"Decided by {decider}."
    blocks.append(_section(outcome))
    if change is not None and change.detail:
        blocks.append(_context(escape(change.detail)))
    if webhook_summary:
        blocks.append(_context(escape(webhook_summary)))
    if change is not None and change.hold is not None and change.hold.resume_at:
        blocks.append(_section(auto_resume_line(change.hold, when)))
    if change is not None and change.outcome is Outcome.PAUSED:
        blocks.append(resume_actions(change.endpoint, change.hold))
    if change is not None and change.resumed is not None:
        blocks.append(_section(resume_summary_line(change.resumed)))
        if change.resumed.discarded:
            blocks.append(retry_actions(change.endpoint, change.resumed))
    text = outcome.replace("*", "")
    return text, blocks


def already_requested_message(request: ApprovalRequest) -> str:
    return (
        f":information_source: <@{request.requester}> already asked to {request.action.value} "
        f"{_request_ref(request)}; that request is waiting for an approver "
        f"(expires {_when(request.expires_at)}). Nothing new was posted."
    )


def request_posted_message(request: ApprovalRequest) -> str:
    return (
        f":raising_hand: Your request to {request.action.value} {_request_ref(request)} is posted "
        "in this channel. An approver must approve it; you will be told the outcome."
    )


def requester_notice(request: ApprovalRequest, state: RequestState, change: Change | None) -> str:
    ref = _request_ref(request)
    if state is RequestState.DENIED:
        return (
            f":no_entry_sign: <@{request.decided_by}> denied your request to "
            f"{request.action.value} {ref}."
        )
    if state is RequestState.EXPIRED:
        return (
            f":hourglass: Your request to {request.action.value} {ref} expired "
            "before anyone decided."
        )
    result = _status_word(change.endpoint.status) if change else "unknown"
    return (
        f":white_check_mark: <@{request.decided_by}> approved your request to "
        f"{request.action.value} {ref}. Its status is now *{result}*."
    )


def decider_notice(state: RequestState, change: Change | None) -> str:
    if state is RequestState.EXPIRED:
        return ":hourglass: This request has expired. Nothing was changed."
    if state is RequestState.DENIED:
        return ":no_entry_sign: You denied the request. Nothing was changed."
    if change is not None and change.changed:
        status = _status_word(change.endpoint.status)
        return f":white_check_mark: Done: {_endpoint_ref(change.endpoint)} is now *{status}*."
    if change is not None:
        return unchanged_message(change)
    return "Done."


def confirmation_message(endpoint: Endpoint, confirmation_id: str) -> tuple[str, list[Block]]:
    """'Are you sure?' before re-enabling an endpoint that Convoy disabled."""
    text = (
        f":warning: {_endpoint_ref(endpoint)} is *inactive*: Convoy disabled it after repeated "
        "delivery failures. Resuming it re-enables traffic that Convoy cut off, and the "
        "receiver may still be failing. Confirm only if the receiver is fixed."
    )
    button = _button(
        ids.CONFIRM_REENABLE,
        f"Re-enable {endpoint.label[:50]}",
        f"{confirmation_id}:{endpoint.uid}",
        "danger",
    )
    button["confirm"] = {
        "title": {"type": "plain_text", "text": "Re-enable endpoint?"},
        "text": {"type": "mrkdwn", "text": "Convoy will start delivering events to it again."},
        "confirm": {"type": "plain_text", "text": "Re-enable"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    return text, [_section(text), _actions("confirm", button)]


def already_handled_message(error: AlreadyHandled) -> str:
    by = f" by <@{escape(error.by)}>" if error.by else ""
    return f":information_source: {escape(error.message.rstrip('.'))}{by}. Nothing more was done."


def _subject(subject: str) -> str:
    return f"<!subteam^{escape(subject)}>" if is_group(subject) else f"<@{escape(subject)}>"


def _scope(project: str) -> str:
    return "every project" if project == GLOBAL_SCOPE else f"project `{escape(project)}`"


def roles_message(grants: Sequence[Grant], project: str) -> str:
    if not grants:
        return f"No roles are granted in {_scope(project)}."
    lines = [f"*Roles in {_scope(project)}*"]
    lines += [f"• {_subject(g.subject)} — *{g.role.label}* in {_scope(g.project)}" for g in grants]
    return "\n".join(lines[:60])


def role_granted_message(subject: str, role: Role, project: str) -> str:
    return f":white_check_mark: {_subject(subject)} is now *{role.label}* in {_scope(project)}."


def role_revoked_message(subject: str, project: str, removed: bool) -> str:
    if removed:
        return f":white_check_mark: {_subject(subject)} no longer has a role in {_scope(project)}."
    return f":information_source: {_subject(subject)} had no role in {_scope(project)}."


def audit_message(entries: Sequence[AuditEntry], endpoint: str) -> tuple[str, list[Block]]:
    """The latest audit entries, newest first, one line each."""
    about = f" for '{escape(endpoint)}'" if endpoint else ""
    if not entries:
        text = f"No audit entries{about}."
        return text, [_section(text)]
    lines = []
    for entry in entries:
        who = f"<@{escape(entry.actor)}>" if entry.actor else "the bot"
        approver = f", approved by <@{escape(entry.approver)}>" if entry.approver else ""
        target = f" *{escape(entry.endpoint_name)}*" if entry.endpoint_name else ""
        convoy = f" (Convoy {escape(entry.convoy_status)})" if entry.convoy_status else ""
        detail = (
            f" — {escape(entry.detail[:120])}" if entry.outcome in ("refused", "failed") else ""
        )
        lines.append(
            f"`{escape(entry.time)}` {who}{approver}: {escape(entry.command)}{target} → "
            f"*{escape(entry.outcome)}*{convoy}{detail}"
        )
    header = f"*Audit trail{about}*, newest first ({len(entries)})"
    return _sections(header, lines)


def auto_resumed_message(hold: Hold, change: Change, when: datetime) -> tuple[str, list[Block]]:
    """The channel record of a timer that resumed an endpoint."""
    text, blocks = change_announcement(change, "", hold.reason, when)
    headline = (
        f":alarm_clock: {_endpoint_ref(change.endpoint)} was *resumed automatically*: the "
        f"timed pause by <@{escape(hold.actor)}> ended."
    )
    blocks[0] = _section(headline)
    text = f"{escape(change.endpoint.label)} was resumed automatically: the timed pause ended."
    return text, blocks


def auto_resume_skipped_message(hold: Hold, why: str) -> str:
    return (
        f":information_source: The timed pause of *{escape(hold.name)}* (`{escape(hold.uid)}`) "
        f"by <@{escape(hold.actor)}> ran out, but the bot did not resume it: {escape(why)}. "
        "Check it with `/convoy status`."
    )


def reminder_message(hold: Hold, now: datetime) -> tuple[str, list[Block]]:
    due = hold.resumes_at or now
    text = (
        f":alarm_clock: *{escape(hold.name)}* resumes automatically in {_relative(due, now)} "
        f"({_when(due)}). Extend the pause if the receiver is not ready."
    )
    return text, [_section(text), _actions("remind", extend_button(hold, hold.resume_at))]


def timer_update_message(hold: Hold, text: str) -> tuple[str, list[Block]]:
    """Replaces a timed pause's buttons after Extend or Keep paused."""
    return text, [_section(text)]


def paused_message(entries: Sequence[HeldPause], now: datetime) -> tuple[str, list[Block]]:
    """What `/convoy paused` shows: the bot's pauses, with stale ones marked and dropped."""
    if not entries:
        text = "The bot holds no paused endpoints."
        return text, [_section(text)]
    lines = []
    for entry in entries:
        hold = entry.hold
        who = f"<@{escape(hold.actor)}>" + (
            f" (approved by <@{escape(hold.approver)}>)" if hold.approver else ""
        )
        line = (
            f"• *{escape(hold.name)}* (`{escape(hold.uid)}`) paused by {who} "
            f"{_when(hold.paused_since)} — {_reason(hold.reason)}"
        )
        if entry.stale:
            line += " — _no longer paused in Convoy (resumed outside the bot); removed_"
        else:
            line += " — " + auto_resume_line(hold, now).replace("*", "")
        lines.append(line)
    header = f"*Paused by the bot* ({sum(not e.stale for e in entries)})"
    return _sections(header, lines)


def not_posted_message(text: str, error: str) -> str:
    return (
        f":warning: The change stands, but I could not post it in the channel "
        f"({escape(error)}). What happened: {text}"
    )


def request_not_posted_message(request: ApprovalRequest, error: str) -> str:
    return (
        f":x: I could not post your request to {request.action.value} {_request_ref(request)} "
        f"in this channel ({escape(error)}), so no approver can see it. Nothing was asked "
        "and nothing was changed; try again, or ask an approver directly."
    )


def without_buttons(message_blocks: Sequence[Block], note: str) -> list[Block]:
    """A posted message's blocks with its buttons taken away and a note (mrkdwn) added."""
    kept = [b for b in message_blocks if b.get("type") != "actions"]
    return [*kept, _context(note)]
