"""The forms (modals): pause or resume an endpoint, deny a request; and the endpoint menu's
options. Each view stays within Slack's limits for modals whatever it is given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.durations import describe
from bot.models import Action, Endpoint
from handlers import ids
from handlers.blocks.kit import (
    MAX_REASON,
    OPTION_LABEL,
    Block,
    context,
    cut,
    escape,
    section,
    status_word,
)

View = Block
VIEW_TITLE = 24  # Slack's limit for a modal's title, submit and close
VIEW_BLOCKS = 100
OPTION_VALUE = 150
MAX_OPTIONS = 100
PLACEHOLDER = 150
MAX_DURATION = 40  # characters of a typed duration ("1 hour 30 minutes")
TITLES = {Action.PAUSE: "Pause an endpoint", Action.RESUME: "Resume an endpoint"}
SUBMITS = {Action.PAUSE: "Pause", Action.RESUME: "Resume"}
USAGES = {
    Action.PAUSE: "pause <endpoint> [for 30m] [reason…]",
    Action.RESUME: "resume <endpoint> [reason…]",
}


def plain(text: str, limit: int = VIEW_TITLE) -> Block:
    """A plain-text object within `limit` characters (and never empty)."""
    return {"type": "plain_text", "text": cut(text, limit) or "—"}


def _modal(
    callback_id: str,
    title: str,
    metadata: str,
    blocks: Sequence[Block],
    *,
    submit: str = "",
    close: str = "Cancel",
) -> View:
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": plain(title),
        "close": plain(close),
        "blocks": list(blocks)[:VIEW_BLOCKS],
    }
    if submit:
        view["submit"] = plain(submit)
    return view


def loading_view(action: Action, metadata: str) -> View:
    """The form as it opens, at once, while the caller's role (and the endpoint a message
    names) is looked up: nothing to submit yet."""
    blocks = [section(":hourglass_flowing_sand: Loading…")]
    return _modal(ids.CHANGE_FORM, TITLES[action], metadata, blocks)


def refusal_view(action: Action, text: str) -> View:
    """The form replaced by why it cannot be used (the caller's role, the store being down)."""
    return _modal(ids.CHANGE_FORM, TITLES[action], "", [section(text)], close="Close")


def endpoint_option(endpoint: Endpoint) -> Block:
    """One endpoint in the menu: its name and status shown, its uid the value."""
    status = f" ({status_word(endpoint.status)})"
    label = cut(endpoint.label, OPTION_LABEL - len(status)) + status
    return {"text": plain(label, OPTION_LABEL), "value": endpoint.uid}


def option_name(label: str) -> str:
    """The endpoint's name as an option shows it, without the status `endpoint_option` adds."""
    name, _, status = label.rpartition(" (")
    return name if name and status.endswith(")") else label


def endpoint_options(endpoints: Sequence[Endpoint]) -> list[Block]:
    """At most 100 options; an endpoint whose uid is longer than an option value can be is
    left out (it could not be chosen anyway)."""
    fitting = [e for e in endpoints if 0 < len(e.uid) <= OPTION_VALUE]
    return [endpoint_option(e) for e in fitting[:MAX_OPTIONS]]


def change_view(
    action: Action,
    metadata: str,
    *,
    max_pause: timedelta,
    selected: Endpoint | None = None,
    note: str = "",
    project: str = "",
) -> View:
    """The pause (or resume) form: the endpoint menu, searched in Convoy as the user types;
    the reason; for a pause, how long. `project` names the project it acts in (when the bot
    serves several): a form acts in one, chosen as a command's is, and says which."""
    menu: Block = {
        "type": "external_select",
        "action_id": ids.ENDPOINT_MENU,
        "placeholder": plain("Type part of its name, or its uid", PLACEHOLDER),
        "min_query_length": 0,
    }
    if selected is not None and endpoint_options([selected]):
        menu["initial_option"] = endpoint_option(selected)
    blocks = [context(f"Project: `{escape(project)}`")] if project else []
    if note:
        blocks.append(context(escape(note)))
    blocks.append(_input(ids.ENDPOINT_BLOCK, "Endpoint", menu))
    blocks.append(
        _input(
            ids.REASON_BLOCK,
            "Reason",
            _text_input(ids.REASON_INPUT, "bad payloads since 02:10", multiline=True),
            hint="Shown in the channel and to the endpoint's own Slack webhook.",
            optional=True,
        )
    )
    if action is Action.PAUSE:
        blocks.append(
            _input(
                ids.DURATION_BLOCK,
                "Resume it automatically after",
                _text_input(ids.DURATION_INPUT, "30m", max_length=MAX_DURATION),
                hint=(
                    f"For example 30m, 2h or 1h30m; at most {describe(max_pause)}. "
                    "Left empty, it stays paused until someone resumes it."
                ),
                optional=True,
            )
        )
    return _modal(ids.CHANGE_FORM, TITLES[action], metadata, blocks, submit=SUBMITS[action])


def deny_view(metadata: str, request_story: str) -> View:
    """Deny's form: what is being denied, and an optional reason for the requester."""
    reason = _input(
        ids.REASON_BLOCK,
        "Reason",
        _text_input(ids.REASON_INPUT, "the receiver is healthy again", multiline=True),
        hint="Shown to the requester and on the request message.",
        optional=True,
    )
    blocks = [section(request_story), reason] if request_story else [reason]
    return _modal(ids.DENY_FORM, "Deny request", metadata, blocks, submit="Deny")


def _input(
    block_id: str, label: str, element: Block, *, hint: str = "", optional: bool = False
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text_input(
    action_id: str, placeholder: str, *, multiline: bool = False, max_length: int = MAX_REASON
) -> Block:
    return {
        "type": "plain_text_input",
        "action_id": action_id,
        "placeholder": plain(placeholder, PLACEHOLDER),
        "multiline": multiline,
        "max_length": max_length,
    }


def form_not_opened(action: Action, error: str) -> str:
    """Slack would not open the form (its trigger ran out, most often): the command instead."""
    usage = USAGES[action]
    return (
        f":warning: Slack did not open the form ({escape(error)}); it may have taken too long. "
        f"Try again, or type `/convoy {usage}`. Nothing was changed."
    )


def deny_form_not_opened(error: str) -> str:
    return (
        f":warning: Slack did not open the form for denying ({escape(error)}). "
        "Nothing was changed; click *Deny* again."
    )
