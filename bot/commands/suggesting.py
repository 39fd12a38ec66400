"""What a form's endpoint menu offers: who may open the form, the endpoints matching what is
typed, and the endpoint a message names; every Convoy lookup within a deadline."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from bot.access.policy import Access, Verb
from bot.commands.resolver import Finder
from bot.convoy import looks_like_uid
from bot.errors import BotError
from bot.models import Endpoint

logger = logging.getLogger(__name__)

# Slack waits 3 s for a menu's options, its own network time included: answer well before.
OPTIONS_DEADLINE = 1.5  # seconds
MAX_OPTIONS = 100  # Slack shows at most 100 options
MAX_NAMED = 2000  # endpoints read to find the one a message names (Convoy's 20 pages)
MAX_UIDS = 3  # uid-shaped words of a message looked up
MIN_NAME = 3  # a shorter name is too likely an ordinary word of the message
_UID_IN_TEXT = re.compile(
    r"\b(?:[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
    re.IGNORECASE,
)
T = TypeVar("T")


class Suggesting:
    """Reads for the pause and resume forms: never a change, and never slower than the deadline."""

    def __init__(self, access: Access, finder: Finder, deadline: float = OPTIONS_DEADLINE) -> None:
        self._access = access
        self._finder = finder
        self._deadline = deadline

    async def may_ask(self, user_id: str, verb: Verb) -> None:
        """Forbidden, naming who can grant the role, unless the caller may at least ask for
        this change; nothing is counted against their rate limit until they submit."""
        await self._access.require(user_id, verb, counted=False)

    async def suggest(self, user_id: str, typed: str) -> list[Endpoint]:
        """Up to 100 endpoints whose name contains what was typed, the endpoint it names first
        when it is a uid and exact names before partial ones: whatever Convoy gave within the
        deadline (Forbidden for a caller who may not list endpoints)."""
        await self._access.require(user_id, Verb.LIST)
        typed = typed.strip()
        one, many = await asyncio.gather(
            self._within(self._finder.get(typed)) if looks_like_uid(typed) else _nothing(),
            self._within(self._finder.search(typed, MAX_OPTIONS)),
        )
        found, seen = [], set()
        for endpoint in ([one] if one else []) + _ranked(many or [], typed):
            if endpoint.uid not in seen:
                seen.add(endpoint.uid)
                found.append(endpoint)
        return found[:MAX_OPTIONS]

    async def named_in(self, text: str) -> Endpoint | None:
        """The endpoint a message names: one of its uids, else the endpoint whose name (the
        longest that fits, a whole word, any case) appears in it; None when it names none, or
        more than one equally, or Convoy did not answer within the deadline."""
        for uid in list(dict.fromkeys(_UID_IN_TEXT.findall(text)))[:MAX_UIDS]:
            endpoint = await self._within(self._finder.get(uid))
            if endpoint is not None:
                return endpoint
        endpoints = await self._within(self._finder.search("", MAX_NAMED)) or []
        named = [e for e in endpoints if len(e.name) >= MIN_NAME and _names(text, e.name)]
        longest = max((len(e.name) for e in named), default=0)
        best = [e for e in named if len(e.name) == longest]
        return best[0] if len(best) == 1 else None

    async def _within(self, lookup: Awaitable[T]) -> T | None:
        """A lookup's result if it came within the deadline; None when it failed (not found,
        Convoy's error) or came late (it is then cancelled, never left running)."""
        try:
            async with asyncio.timeout(self._deadline):
                return await lookup
        except TimeoutError:
            logger.info("Convoy did not answer a form's lookup within %.1f s", self._deadline)
        except BotError:
            pass  # Convoy's error or an unknown uid: the form offers what else it found
        return None


async def _nothing() -> None:
    return None


def _ranked(endpoints: Sequence[Endpoint], typed: str) -> list[Endpoint]:
    """Exact names first, then names starting with what was typed, then the rest, by name."""
    wanted = typed.casefold()

    def rank(endpoint: Endpoint) -> tuple[bool, bool, str]:
        name = endpoint.name.casefold()
        return name != wanted, not name.startswith(wanted), name

    return sorted(endpoints, key=rank)


def _names(text: str, name: str) -> bool:
    """Whether `name` appears in `text` as a whole word (not inside a longer name), any case."""
    pattern = rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None
