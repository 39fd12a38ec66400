"""Telling people what a use case did, the same way for slash commands and button clicks."""

from __future__ import annotations

import contextlib
from datetime import datetime

from bot.approvals.deciding import Deciding
from bot.approvals.results import ApprovalAsked, Decision
from bot.change.model import Change
from bot.clock import Clock
from bot.commands.results import ChangeResult, Choice, NeedsConfirmation, RecordGone
from bot.errors import AccessStoreUnavailable
from bot.models import Endpoint
from handlers.announcer import Announcer, Metadata, worth_announcing
from handlers.blocks.answers import (
    choice_message,
    confirmation_message,
    not_posted_message,
    record_gone_message,
    unchanged_message,
)
from handlers.blocks.changes import change_announcement, channel_announcement
from handlers.blocks.kit import Message
from handlers.blocks.reads import status_message
from handlers.blocks.requests import (
    already_requested_message,
    decider_notice,
    decision_message,
    request_message,
    request_not_posted_message,
    request_posted_message,
    requester_notice,
)
from handlers.replies import Posted, Replies

Result = ChangeResult | Choice | Endpoint | RecordGone

REQUEST_NOT_POSTED = "request not posted"  # the label of a request nobody could see


class Reporter:
    """The caller hears privately; a change goes to the channel and webhook (the announcer)."""

    def __init__(self, announcer: Announcer, deciding: Deciding, clock: Clock) -> None:
        self._announcer = announcer
        self._deciding = deciding
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    @property
    def several(self) -> bool:
        """Whether the bot serves several projects (messages then name theirs)."""
        return self._announcer.face.several

    def marked(self, message: Message) -> Message:
        """A private reply naming its project, when the bot serves several."""
        return self._announcer.face.marked(message)

    async def report(self, replies: Replies, result: Result, actor_id: str, reason: str) -> str:
        """Say what happened; returns a short result label for metrics."""
        match result:
            case Endpoint():
                await replies.private(*status_message(result))
                return "status"
            case Choice():
                await replies.private(*choice_message(result))
                return "choice offered"
            case ApprovalAsked():
                return await self._post_request(replies, result)
            case RecordGone():
                await replies.private(*record_gone_message(result))
                return "record gone"
            case NeedsConfirmation():
                await replies.private(*confirmation_message(result))
                return "confirmation asked"
            case Change():
                await self._report_change(replies, result, actor_id, reason)
                return result.outcome.value

    async def _report_change(
        self, replies: Replies, change: Change, actor_id: str, reason: str
    ) -> None:
        at = self._clock.now()

        async def to_channel(message: Message, metadata: Metadata) -> Posted:
            posted = await replies.channel(*message, metadata=metadata)
            if not posted.shown:
                await replies.private(not_posted_message(message[0], posted.error))
            return posted

        async def to_caller(message: Message, _: Metadata) -> Posted:
            await replies.private(*message)
            return Posted(replies.channel_id, "", shown=True)

        if worth_announcing(change):
            await self._announcer.announce(
                change,
                webhook=change_announcement(change, actor_id, reason, at),
                people=lambda summary: channel_announcement(change, actor_id, reason, at, summary),
                deliver=to_channel,
            )
        else:
            await self._announcer.announce(
                change,
                webhook=("", []),
                people=lambda _: (unchanged_message(change), []),
                deliver=to_caller,
            )

    async def _post_request(self, replies: Replies, asked: ApprovalAsked) -> str:
        """A new request goes in the channel with buttons; a duplicate only tells the asker."""
        if asked.already_open:
            await replies.private(already_requested_message(asked.request))
            return "already requested"
        posted = await replies.channel(*self.marked(request_message(asked.request)))
        if not posted.shown:
            # Nobody can see it, so nobody can approve it: take it back and say so.
            await self._deciding.withdraw(asked.request)
            await replies.private(request_not_posted_message(asked.request, posted.error))
            return REQUEST_NOT_POSTED
        if posted.ts:
            with contextlib.suppress(AccessStoreUnavailable):  # only later updates need it
                await self._deciding.attach_message(asked.request, posted.ts)
        await replies.private(request_posted_message(asked.request))
        return "approval requested"

    async def decision(self, replies: Replies, decision: Decision, message_ts: str) -> str:
        """Update the request in place, post to the webhook, tell requester and decider."""
        request, change, state = decision.request, decision.change, decision.state
        at = self._clock.now()
        ts = request.message_ts or message_ts

        async def in_place(message: Message, metadata: Metadata | None = None) -> Posted:
            return await replies.update(ts, *message, metadata=metadata)

        if change is None:
            await in_place(self.marked(decision_message(request, state, None, at)))
        else:
            await self._announcer.announce(
                change,
                webhook=change_announcement(
                    change, request.requester, request.reason, at, request.decided_by
                ),
                people=lambda summary: decision_message(request, state, change, at, summary),
                deliver=in_place,
            )
        await replies.private(decider_notice(state, change))
        await replies.ephemeral_to(request.requester, requester_notice(request, state, change))
        return state.value
