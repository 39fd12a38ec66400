"""The App Home tab: published for the person who opens it (the Home tab only; the same event
fires for the Messages tab, which shows nothing of the bot's)."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot import logs
from bot.background import BackgroundTasks
from bot.errors import BotError
from bot.home.board import Board, HomeBoard
from bot.home.refresh import HomeRefresh
from bot.slack_client import SlackCalls
from handlers.blocks.home import home_view

logger = logging.getLogger(__name__)


class HomePublisher:
    """Builds one person's board and publishes it as their Home tab: when they open it, and
    again when it changes (the scheduler's round, bot.home.refresh)."""

    def __init__(self, boards: HomeBoard, refresh: HomeRefresh, calls: SlackCalls) -> None:
        self._boards = boards
        self._refresh = refresh
        self._calls = calls

    async def publish(self, user_id: str) -> None:
        """Publish now (opened, or acted on from it); the person's board is kept current for a
        while after. A failure is one log line (the tab keeps its last board), never raised."""
        try:
            board = await self._boards.board(user_id)
            if await self.publish_board(board):
                await self._refresh.opened(board)
        except BotError as exc:
            logger.warning("the Home board could not be built: %s", logs.describe_failure(exc))

    async def refresh(self) -> int:
        """Publish the boards of recent viewers that changed; how many were published."""
        return await self._refresh.run(self.publish_board)

    async def publish_board(self, board: Board) -> bool:
        view = home_view(board)
        answer = await self._calls.call(
            "home", self._calls.slack.views_publish, user_id=board.user_id, view=view
        )
        return answer.ok


def register(app: AsyncApp, tasks: BackgroundTasks, publisher: HomePublisher) -> None:
    app.event("app_home_opened")(partial(home_opened, tasks=tasks, publisher=publisher))


async def home_opened(
    event: dict[str, Any], tasks: BackgroundTasks, publisher: HomePublisher
) -> None:
    """Bolt acks events itself; the board is built after, in the background."""
    user_id = str(event.get("user", ""))
    if event.get("tab") != "home" or not user_id:
        return
    tasks.spawn(publisher.publish(user_id))
