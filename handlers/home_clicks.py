"""Approve and Deny clicked on the App Home tab: the same buttons and the same exactly-once
claim as on the request in its channel, answered where a Home click can be answered.

A click on the Home tab carries no channel, no message and no response URL. The request's
own message (its channel and ts are in the request) is updated in place as for a click in
the channel; what would be a private reply goes to the person as a direct message from the
app; and their board is published again, without the request they decided.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.deciding import GONE, Deciding
from bot.change.model import Caller
from bot.errors import BotError, InvalidInput
from handlers import ids
from handlers.actions import in_its_project
from handlers.buttons import RequestValue
from handlers.click import Click
from handlers.forms import Forms
from handlers.home import HomePublisher
from handlers.outcomes import Reporter
from handlers.replies import DirectMessages, Replies
from handlers.runtime import Runtimes
from handlers.work import Worker


async def from_home(body: dict[str, Any]) -> bool:
    """Whether a click came from a Home tab (Slack says so in the payload's view)."""
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


def register(
    app: AsyncApp, worker: Worker, *, runtimes: Runtimes, forms: Forms, publisher: HomePublisher
) -> None:
    """Before the channel's listeners of the same buttons (Bolt runs the first that matches)."""
    app.action(ids.APPROVE_BUTTON, matchers=[from_home])(
        partial(approve_clicked, worker=worker, runtimes=runtimes, publisher=publisher)
    )
    app.action(ids.DENY_BUTTON, matchers=[from_home])(
        partial(deny_clicked, runtimes=runtimes, forms=forms)
    )


async def approve_clicked(  # noqa: PLR0917  # Bolt passes its own arguments by name
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    worker: Worker,
    runtimes: Runtimes,
    publisher: HomePublisher,
) -> None:
    await ack()
    click = Click.from_body(body)
    user_id = click.caller.user_id
    replies = worker.replies(DirectMessages(client, user_id), client, "")
    work = partial(approve, publisher=publisher)  # the rest from the request's project
    approving = in_its_project(replies, click, work, runtimes)
    if not worker.take("approve from home", replies, approving, user_id):
        worker.busy_notice(replies)


async def approve(
    replies: Replies,
    click: Click,
    *,
    deciding: Deciding,
    reporter: Reporter,
    publisher: HomePublisher,
) -> str:
    """Decide in the request's channel, as if clicked on its message; then the board again."""
    request = await deciding.request(RequestValue.decode(click.value).request_id)
    if request is None:
        raise InvalidInput(GONE)
    here = replace(replies, channel_id=request.channel_id)
    caller = replace(click.caller, channel_id=request.channel_id)
    try:
        decision = await deciding.decide(caller, request.id, approve=True)
        return await reporter.decision(here, decision, request.message_ts)
    finally:
        await publisher.publish(caller.user_id)


async def deny_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    runtimes: Runtimes,
    forms: Forms,
) -> None:
    """Deny's reason form, as from the request's message: the form keeps the request's channel
    and message, and no response URL (its replies go as direct messages)."""
    await ack()
    click = Click.from_body(body)
    value = RequestValue.decode(click.value)
    try:
        runtime = await runtimes.for_scope(value.project) if value.project else None
        deciding = runtime.get(Deciding) if runtime is not None else None
        request = await deciding.request(value.request_id) if deciding is not None else None
    except BotError:
        request = None  # the form then refuses itself, saying why, in a direct message
    channel = request.channel_id if request is not None else ""
    await forms.open_deny(
        Caller(click.caller.user_id, channel, click.caller.trigger),
        value.request_id,
        project=value.project,
        response_url="",
        message_ts=request.message_ts if request is not None else "",
        story=_story(body),
        respond=DirectMessages(client, click.caller.user_id),
        client=client,
    )


def _story(body: dict[str, Any]) -> str:
    """The section above the clicked buttons on the board: what the request asks."""
    clicked = str(((body.get("actions") or [{}])[0]).get("block_id", ""))
    blocks = (body.get("view") or {}).get("blocks") or []
    for above, block in itertools.pairwise(blocks):
        if isinstance(block, dict) and block.get("block_id") == clicked:
            return str(((above or {}).get("text") or {}).get("text", ""))
    return ""
