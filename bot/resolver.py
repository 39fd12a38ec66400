"""Turning what a user typed into one Convoy endpoint, or a short list to pick from (SPEC §3)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.convoy import ConvoyClient, looks_like_uid
from bot.errors import EndpointNotFound
from bot.models import Endpoint

MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Candidates:
    """Several endpoints could be meant; the user picks one."""

    query: str
    endpoints: tuple[Endpoint, ...]


async def resolve(convoy: ConvoyClient, text: str, project: str) -> Endpoint | Candidates:
    """Exact uid, else one case-insensitive exact name, else candidates (or EndpointNotFound)."""
    if looks_like_uid(text):
        try:
            return await convoy.get_endpoint(text, project)
        except EndpointNotFound:
            pass  # a name can look like a uid too
    matches = await convoy.search_endpoints(text, project)
    exact = [e for e in matches if e.name.casefold() == text.casefold()]
    if len(exact) == 1:
        return exact[0]
    pool = exact or matches
    if pool:
        return Candidates(text, tuple(pool[:MAX_CANDIDATES]))
    raise EndpointNotFound(await _not_found_message(convoy, text, project))


async def _not_found_message(convoy: ConvoyClient, text: str, project: str) -> str:
    message = f"No endpoint matches '{text}' in project {project}."
    names = sorted({e.name for e in await convoy.search_endpoints("", project) if e.name})
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
    if close:
        message += " Did you mean " + ", ".join(f"'{name}'" for name in close) + "?"
    return message
