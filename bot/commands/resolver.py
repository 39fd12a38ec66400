"""Turning what a user typed into one Convoy endpoint, or a short list to pick from (SPEC §3)."""

from __future__ import annotations

import difflib

from bot.change.model import Intent
from bot.commands.choices import ChoiceStore, PendingChoice, Question
from bot.commands.results import Candidates, Choice, RecordGone
from bot.convoy import ConvoyClient, looks_like_uid
from bot.errors import EndpointNotFound, InvalidInput
from bot.models import Endpoint, EndpointStatus

MAX_CANDIDATES = 5


class Finder:
    """Resolves names in one project; several matches become a stored pick-one question."""

    def __init__(self, convoy: ConvoyClient, choices: ChoiceStore) -> None:
        self._convoy = convoy
        self._choices = choices

    @property
    def scope(self) -> str:
        return self._convoy.project.scope

    async def search(self, query: str, limit: int | None = None) -> list[Endpoint]:
        """Every endpoint whose name contains query (the first `limit` of them)."""
        return await self._convoy.search_endpoints(query, limit)

    async def get(self, uid: str) -> Endpoint:
        return await self._convoy.get_endpoint(uid)

    async def find_or_ask(
        self, user_id: str, verb: Question, text: str, intent: Intent | None = None
    ) -> Endpoint | Choice:
        """The one endpoint meant, or a question (stored) offering the candidates."""
        found = await self.resolve(text)
        if isinstance(found, Endpoint):
            return found
        duration = intent.duration if intent else None
        choice_id = await self._choices.save(
            PendingChoice(
                user_id=user_id,
                verb=verb,
                project=self.scope,
                reason=intent.reason if intent else "",
                uids=[e.uid for e in found.endpoints],
                duration_s=int(duration.total_seconds()) if duration else 0,
            )
        )
        return Choice(choice_id, verb, found, self.scope)

    async def offer_resume(self, user_id: str, uid: str, *, timer_lost: bool = False) -> RecordGone:
        """A button's pause has no record (the store lost it): ask Convoy, never assume the
        pause is over. Still paused: a stored one-endpoint question offering an ordinary
        resume (role-checked when clicked). Not paused, or gone: InvalidInput saying so."""
        endpoint = await self._convoy.get_endpoint(uid)
        if endpoint.status is not EndpointStatus.PAUSED:
            raise InvalidInput(
                f"The pause this button was made for is over: Convoy reports *{endpoint.label}* "
                f"{endpoint.status.value or 'in an unknown state'}. Nothing was changed."
            )
        choice_id = await self._choices.save(
            PendingChoice(
                user_id=user_id,
                verb=Question.RESUME,
                project=self.scope,
                reason="resumed after the bot lost its record of the pause",
                uids=[uid],
            )
        )
        return RecordGone(choice_id, endpoint, self.scope, timer_lost)

    async def resolve(self, text: str) -> Endpoint | Candidates:
        """Exact uid, else one case-insensitive exact name, else candidates (or not found)."""
        if looks_like_uid(text):
            try:
                return await self._convoy.get_endpoint(text)
            except EndpointNotFound:
                pass  # a name can look like a uid too
        matches = await self._convoy.search_endpoints(text)
        exact = [e for e in matches if e.name.casefold() == text.casefold()]
        if len(exact) == 1:
            return exact[0]
        pool = exact or matches
        if pool:
            return Candidates(text, tuple(pool[:MAX_CANDIDATES]))
        raise EndpointNotFound(await self._not_found_message(text))

    async def _not_found_message(self, text: str) -> str:
        message = f"No endpoint matches '{text}' in project {self._convoy.project.alias}."
        names = sorted({e.name for e in await self._convoy.search_endpoints("") if e.name})
        close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
        if close:
            message += " Did you mean " + ", ".join(f"'{name}'" for name in close) + "?"
        return message
