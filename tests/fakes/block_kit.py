"""Slack's Block Kit limits, checked as Slack checks them: what a message, a view or an options
answer may hold. The fake Slack refuses what breaks them, and the test sender checks acks.

Each problem reads like Slack's own (`must be less than 3001 characters`) with a JSON pointer
to where it is, so a failing test says which part of which message was too big.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100  # modals and the App Home
FALLBACK_TEXT = 40_000
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
PLACEHOLDER = 150
INPUT_LABEL = 2000
INPUT_HINT = 2000
INPUT_VALUE = 3000
ID = 255  # block_id, action_id, callback_id, external_id
URL = 3000
VIEW_TITLE = 24  # title, submit and close of a modal
PRIVATE_METADATA = 3000
CONFIRM = {"title": 100, "text": 300, "confirm": 30, "deny": 30}

Problems = list[str]


def message_problems(payload: dict[str, Any]) -> tuple[str, Problems]:
    """Slack's error for a message (chat.postMessage, chat.update, chat.postEphemeral, a
    response-URL or webhook post, a slash-command ack), and its problems; ("", []) if fine."""
    text = payload.get("text")
    if isinstance(text, str) and len(text) > FALLBACK_TEXT:
        return "msg_too_long", [f"text: {len(text)} characters, more than {FALLBACK_TEXT}"]
    problems = blocks_problems(payload.get("blocks"), MESSAGE_BLOCKS, "/blocks")
    return ("invalid_blocks", problems) if problems else ("", [])


def view_problems(view: Any) -> Problems:
    """The problems of a modal or Home view (views.open, views.update, views.publish)."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    problems: Problems = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("must be `modal` or `home` [json-pointer:/view/type]")
    if kind == "modal":
        problems += _text(view.get("title"), VIEW_TITLE, "/view/title", plain=True)
        for key in ("submit", "close"):
            if key in view:
                problems += _text(view[key], VIEW_TITLE, f"/view/{key}", plain=True)
    problems += _length(view.get("private_metadata"), PRIVATE_METADATA, "/view/private_metadata")
    for key in ("callback_id", "external_id"):
        problems += _length(view.get(key), ID, f"/view/{key}")
    return problems + blocks_problems(view.get("blocks"), VIEW_BLOCKS, "/view/blocks")


def options_problems(answer: Any) -> Problems:
    """The problems of an answer to an options request (`block_suggestion`)."""
    if not isinstance(answer, dict):
        return ["must be an object [json-pointer:/]"]
    problems: Problems = []
    if "options" in answer:
        problems += _options(answer["options"], "/options")
    for index, group in enumerate(answer.get("option_groups") or []):
        where = f"/option_groups/{index}"
        problems += _text(group.get("label"), OPTION_TEXT, f"{where}/label", plain=True)
        problems += _options(group.get("options"), f"{where}/options")
    return problems


def blocks_problems(blocks: Any, most: int, where: str) -> Problems:
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{where}]"]
    problems = [f"no more than {most} items allowed [json-pointer:{where}]"] * (len(blocks) > most)
    for index, block in enumerate(blocks):
        problems += _block(block, f"{where}/{index}")
    return problems


def _block(block: Any, where: str) -> Problems:
    if not isinstance(block, dict):
        return [f"must be an object [json-pointer:{where}]"]
    check = _BLOCKS.get(str(block.get("type")))
    if check is None:
        return [f"unsupported block type `{block.get('type')}` [json-pointer:{where}/type]"]
    return _length(block.get("block_id"), ID, f"{where}/block_id") + check(block, where)


def _section(block: dict[str, Any], where: str) -> Problems:
    problems: Problems = []
    if "text" not in block and "fields" not in block:
        problems.append(f"must define either `text` or `fields` [json-pointer:{where}]")
    if "text" in block:
        problems += _text(block["text"], SECTION_TEXT, f"{where}/text")
    fields = block.get("fields") or []
    if len(fields) > SECTION_FIELDS:
        problems.append(f"no more than {SECTION_FIELDS} items allowed [json-pointer:{where}]")
    for index, field in enumerate(fields):
        problems += _text(field, FIELD_TEXT, f"{where}/fields/{index}")
    if "accessory" in block:
        problems += _element(block["accessory"], f"{where}/accessory")
    return problems


def _header(block: dict[str, Any], where: str) -> Problems:
    return _text(block.get("text"), HEADER_TEXT, f"{where}/text", plain=True)


def _context(block: dict[str, Any], where: str) -> Problems:
    return _elements(block.get("elements"), CONTEXT_ELEMENTS, f"{where}/elements")


def _actions(block: dict[str, Any], where: str) -> Problems:
    return _elements(block.get("elements"), ACTIONS_ELEMENTS, f"{where}/elements")


def _input_block(block: dict[str, Any], where: str) -> Problems:
    problems = _text(block.get("label"), INPUT_LABEL, f"{where}/label", plain=True)
    if "hint" in block:
        problems += _text(block["hint"], INPUT_HINT, f"{where}/hint", plain=True)
    return problems + _element(block.get("element"), f"{where}/element")


_BLOCKS: dict[str, Callable[[dict[str, Any], str], Problems]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
    "input": _input_block,
    "divider": lambda block, where: [],
}


def _elements(elements: Any, most: int, where: str) -> Problems:
    if not isinstance(elements, list) or not elements:
        return [f"must be a non-empty array [json-pointer:{where}]"]
    problems = [f"no more than {most} items allowed [json-pointer:{where}]"] * (
        len(elements) > most
    )
    for index, element in enumerate(elements):
        problems += _element(element, f"{where}/{index}")
    return problems


def _element(element: Any, where: str) -> Problems:
    if not isinstance(element, dict):
        return [f"must be an object [json-pointer:{where}]"]
    kind = str(element.get("type"))
    if kind in ("mrkdwn", "plain_text"):  # a context block's text element
        return _text(element, SECTION_TEXT, where)
    check = _ELEMENTS.get(kind)
    if check is None:
        return [f"unsupported element type `{kind}` [json-pointer:{where}/type]"]
    problems = _length(element.get("action_id"), ID, f"{where}/action_id") + check(element, where)
    for key, most in CONFIRM.items() if "confirm" in element else ():
        problems += _text(element["confirm"].get(key), most, f"{where}/confirm/{key}")
    return problems


def _button(element: dict[str, Any], where: str) -> Problems:
    return (
        _text(element.get("text"), BUTTON_TEXT, f"{where}/text", plain=True)
        + _length(element.get("value"), BUTTON_VALUE, f"{where}/value")
        + _length(element.get("url"), URL, f"{where}/url")
    )


def _select(element: dict[str, Any], where: str) -> Problems:
    problems: Problems = []
    if "placeholder" in element:
        problems += _text(element["placeholder"], PLACEHOLDER, f"{where}/placeholder")
    if "options" in element:
        problems += _options(element["options"], f"{where}/options")
    if "initial_option" in element:
        problems += _option(element["initial_option"], f"{where}/initial_option")
    return problems


def _text_input(element: dict[str, Any], where: str) -> Problems:
    problems: Problems = []
    if "placeholder" in element:
        problems += _text(element["placeholder"], PLACEHOLDER, f"{where}/placeholder")
    problems += _length(element.get("initial_value"), INPUT_VALUE, f"{where}/initial_value")
    if int(element.get("max_length", 0)) > INPUT_VALUE:
        problems.append(f"must be at most {INPUT_VALUE} [json-pointer:{where}/max_length]")
    return problems


_ELEMENTS: dict[str, Callable[[dict[str, Any], str], Problems]] = {
    "button": _button,
    "static_select": _select,
    "external_select": _select,
    "plain_text_input": _text_input,
    "image": lambda element, where: [],
}


def _options(options: Any, where: str) -> Problems:
    if not isinstance(options, list):
        return [f"must be an array [json-pointer:{where}]"]
    problems = [f"no more than {OPTIONS} items allowed [json-pointer:{where}]"] * (
        len(options) > OPTIONS
    )
    for index, option in enumerate(options):
        problems += _option(option, f"{where}/{index}")
    return problems


def _option(option: Any, where: str) -> Problems:
    if not isinstance(option, dict):
        return [f"must be an object [json-pointer:{where}]"]
    problems = _text(option.get("text"), OPTION_TEXT, f"{where}/text", plain=True)
    value = option.get("value")
    if not isinstance(value, str) or not value:
        problems.append(f"must be a non-empty string [json-pointer:{where}/value]")
    return problems + _length(value, OPTION_VALUE, f"{where}/value")


def _text(text: Any, most: int, where: str, *, plain: bool = False) -> Problems:
    """A text object: its type, and its text between 1 and `most` characters."""
    if not isinstance(text, dict) or not isinstance(text.get("text"), str):
        return [f"must be a text object [json-pointer:{where}]"]
    if plain and text.get("type") != "plain_text":
        return [f"must be `plain_text` [json-pointer:{where}/type]"]
    if text.get("type") not in ("plain_text", "mrkdwn"):
        return [f"must be `plain_text` or `mrkdwn` [json-pointer:{where}/type]"]
    if not text["text"]:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    return _length(text["text"], most, f"{where}/text")


def _length(value: Any, most: int, where: str) -> Problems:
    if isinstance(value, str) and len(value) > most:
        return [f"must be less than {most + 1} characters [json-pointer:{where}]"]
    return []
