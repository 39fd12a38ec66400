"""Reads for viewers and up: `/convoy status`, `/convoy list`, `/convoy audit`."""

from __future__ import annotations

from bot.access.policy import Access, Verb
from bot.audit import AuditEntry, AuditLog
from bot.commands.choices import Question
from bot.commands.resolver import Finder
from bot.commands.results import Choice
from bot.models import Endpoint

MAX_AUDIT_LIMIT = 50


class Reading:
    """Role-checked reads; refusals are audited, reads themselves are not."""

    def __init__(
        self, access: Access, finder: Finder, audit: AuditLog, audit_names: tuple[str, ...]
    ) -> None:
        self._access = access
        self._finder = finder
        self._audit = audit
        self._audit_names = audit_names  # what this project's audit entries name it by

    async def status(self, user_id: str, text: str) -> Endpoint | Choice:
        await self._require(user_id, Verb.STATUS)
        return await self._finder.find_or_ask(user_id, Question.STATUS, text)

    async def list_endpoints(self, user_id: str, search: str) -> list[Endpoint]:
        await self._require(user_id, Verb.LIST)
        return await self._finder.search(search)

    async def audit_trail(self, user_id: str, endpoint: str, limit: int) -> list[AuditEntry]:
        """The latest entries, newest first, optionally about one endpoint."""
        await self._require(user_id, Verb.AUDIT)
        limit = max(1, min(limit, MAX_AUDIT_LIMIT))
        return await self._audit.latest(limit, endpoint, projects=self._audit_names)

    async def _require(self, user_id: str, verb: Verb) -> None:
        async with self._audit.audited(user_id, verb.value, self._access.scope):
            await self._access.require(user_id, verb)
