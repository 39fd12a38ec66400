"""Questions held in Redis until the asker clicks: pick one endpoint, or confirm a risk."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from bot import redis_keys
from bot.errors import InvalidInput
from bot.store import Store, failing_closed

CHOICE_TTL_SECONDS = 15 * 60


class Question(StrEnum):
    """What a stored question is about: the command that asked it, or a confirmation."""

    STATUS = "status"
    PAUSE = "pause"
    RESUME = "resume"
    REENABLE = "reenable"  # "are you sure?" before re-enabling an endpoint Convoy disabled


class PendingChoice(BaseModel):
    """What the user asked for before being shown candidates (or asked to confirm)."""

    user_id: str
    verb: Question
    project: str
    reason: str
    uids: list[str]
    duration_s: int = 0  # a timed pause's length, carried to the click


@dataclass(frozen=True)
class Picked:
    """A claimed choice: the original question and the endpoint picked."""

    choice: PendingChoice
    uid: str


class ChoiceStore:
    """Stores questions; claims each exactly once, by its asker, for an offered endpoint."""

    def __init__(self, redis: Store) -> None:
        self._redis = redis

    async def save(self, choice: PendingChoice) -> str:
        choice_id = secrets.token_urlsafe(12)
        with failing_closed():
            await self._redis.set(
                redis_keys.pending_choice(choice_id),
                choice.model_dump_json(),
                ex=CHOICE_TTL_SECONDS,
            )
        return choice_id

    async def claim(self, choice_id: str, user_id: str, uid: str, project: str) -> Picked:
        """Take the question out of the store; a second click finds it gone. A button is
        answered only in the project (scope) that asked it."""
        key = redis_keys.pending_choice(choice_id)
        with failing_closed():
            raw = await self._redis.get(key)
            if raw is None:
                raise InvalidInput(
                    "That choice was already made or has expired. Run the command again."
                )
            choice = PendingChoice.model_validate_json(raw)
            if choice.user_id != user_id:
                raise InvalidInput("Only the person who ran the command can use these buttons.")
            if choice.project != project:
                raise InvalidInput("That button belongs to another project. Nothing was changed.")
            if uid not in choice.uids:
                raise InvalidInput("That endpoint was not one of the choices offered.")
            if not await self._redis.delete(key):
                raise InvalidInput("That choice was already made. Run the command again if needed.")
        return Picked(choice, uid)
