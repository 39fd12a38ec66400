"""ConvoyClient: reads endpoints and makes the two safe state changes over Convoy's REST API.

Convoy's `PUT .../pause` is a toggle, so a retried or doubled request un-pauses. The client
therefore reads before it writes, writes at most once, and after an ambiguous failure (a
timeout, a 5xx, an unreadable reply) reads the endpoint again and reports what is really there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from bot.changes import Action, Change, Outcome
from bot.errors import (
    ConvoyAuthFailed,
    ConvoyBadResponse,
    ConvoyError,
    ConvoyRateLimited,
    ConvoyRejected,
    ConvoyUnavailable,
    EndpointNotFound,
)
from bot.models import Delivery, Endpoint, EndpointStatus, Item, Page

logger = logging.getLogger(__name__)

CONVOY_VERSION = "2025-11-24"
PAGE_SIZE = 100
MAX_PAGES = 20  # 2,000 endpoints: a search wider than that is not a name lookup any more
_GOAL = {
    Action.PAUSE: (Outcome.PAUSED, EndpointStatus.PAUSED),
    Action.RESUME: (Outcome.RESUMED, EndpointStatus.ACTIVE),
}
_UID_SHAPE = re.compile(
    r"^(?:[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    re.IGNORECASE,
)


def looks_like_uid(text: str) -> bool:
    """Whether text has the shape of a Convoy uid (a ULID or a UUID)."""
    return bool(_UID_SHAPE.match(text))


def build_http_client(base_url: str, api_key: str, timeout_seconds: float) -> httpx.AsyncClient:
    """The httpx client ConvoyClient expects: auth, version pin, explicit timeouts, no redirects."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {api_key}",
            "X-Convoy-Version": CONVOY_VERSION,
            "Accept": "application/json",
        },
        # Each phase (connect, pool wait, write, read) is bounded; the lock TTL is sized for
        # the sum (see Settings). No outer asyncio timeout: cancelling a request that waits
        # for a pooled connection leaks the slot in httpcore and starves the pool for good.
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )


def convoy_time(moment: datetime) -> str:
    """Convoy's query date layout (Go's 2006-01-02T15:04:05), in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _delivery_filter(uid: str, status: str, start: datetime, end: datetime) -> dict[str, str | int]:
    # Convoy compares whole seconds: round the window outwards so its edges are counted.
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    return {
        "endpointId": uid,
        "status": status,
        "startDate": convoy_time(start),
        "endDate": convoy_time(end),
    }


def _convoy_message(response: httpx.Response) -> str:
    """Convoy's own error message, flattened and bounded; never the raw body."""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message", "") if isinstance(body, dict) else ""
    return " ".join(str(message).split())[:200]


class ConvoyClient:
    """Endpoint reads and safe writes for one Convoy project by default."""

    def __init__(self, http: httpx.AsyncClient, default_project: str) -> None:
        self._http = http
        self.default_project = default_project

    async def get_endpoint(self, uid: str, project: str | None = None) -> Endpoint:
        """One endpoint by uid; EndpointNotFound when Convoy does not know it."""
        data = await self._call("GET", self._endpoint_path(project, uid), not_found=uid)
        return self._endpoint(data)

    async def search_endpoints(self, query: str = "", project: str | None = None) -> list[Endpoint]:
        """Every endpoint whose name contains query (Convoy's `q=`), following cursors."""
        params: dict[str, str | int] = {"perPage": PAGE_SIZE}
        if query:
            params["q"] = query
        path = self._project_path(project) + "/endpoints"
        return [e async for page in self._pages(path, params, Endpoint) for e in page.content]

    async def _pages(
        self, path: str, params: dict[str, str | int], item: type[Item]
    ) -> AsyncIterator[Page[Item]]:
        """Each page of a list in turn, following Convoy's cursor, at most MAX_PAGES."""
        for _ in range(MAX_PAGES):
            data = await self._call("GET", path, params=params)
            try:
                page = Page[item].model_validate(data)  # type: ignore[valid-type]  # a runtime TypeVar
            except ValidationError as exc:
                raise ConvoyBadResponse("Convoy sent a list the bot cannot read.") from exc
            yield page
            # Convoy fills the cursor in even on the last page: stop on has_next_page alone.
            if page.pagination is None or not page.pagination.has_next_page:
                return
            params = {
                **params,
                "direction": "next",
                "next_page_cursor": page.pagination.next_page_cursor,
            }

    async def probe(self) -> None:
        """One cheap read, to tell whether Convoy answers with the bot's key."""
        await self._call("GET", self._project_path(None) + "/endpoints", params={"perPage": 1})

    async def count_deliveries(
        self, uid: str, status: str, start: datetime, end: datetime, project: str | None = None
    ) -> tuple[int, bool]:
        """How many of the endpoint's deliveries in [start, end] have this status, and whether
        that is all of them (False: there were more than MAX_PAGES pages)."""
        params: dict[str, str | int] = {
            **_delivery_filter(uid, status, start, end),
            "perPage": PAGE_SIZE,
        }
        path = self._project_path(project) + "/eventdeliveries"
        total, complete = 0, False
        async for page in self._pages(path, params, Delivery):
            total += len(page.content)
            complete = page.pagination is None or not page.pagination.has_next_page
        return total, complete

    async def retry_deliveries(
        self, uid: str, status: str, start: datetime, end: datetime, project: str | None = None
    ) -> None:
        """Ask Convoy to retry the endpoint's deliveries in [start, end] with this status."""
        path = self._project_path(project) + "/eventdeliveries/batchretry"
        await self._call("POST", path, params=_delivery_filter(uid, status, start, end))

    async def ensure_paused(self, uid: str, project: str | None = None) -> Change:
        """Pause the endpoint if it is active; never toggles anything else."""
        before = await self.get_endpoint(uid, project)
        if before.status is EndpointStatus.PAUSED:
            return Change(Action.PAUSE, Outcome.ALREADY_PAUSED, before, before)
        if before.status is not EndpointStatus.ACTIVE:
            return Change(Action.PAUSE, Outcome.INACTIVE, before, before)
        return await self._write_once(Action.PAUSE, before, "PUT", "/pause", project)

    async def ensure_active(
        self, uid: str, project: str | None = None, *, reenable_inactive: bool = False
    ) -> Change:
        """Resume a paused endpoint (or, when confirmed, re-enable an inactive one)."""
        before = await self.get_endpoint(uid, project)
        if before.status is EndpointStatus.ACTIVE:
            return Change(Action.RESUME, Outcome.ALREADY_ACTIVE, before, before)
        if before.status is not EndpointStatus.PAUSED and not reenable_inactive:
            return Change(Action.RESUME, Outcome.INACTIVE, before, before)
        return await self._write_once(Action.RESUME, before, "POST", "/activate", project)

    async def _write_once(
        self, action: Action, before: Endpoint, method: str, suffix: str, project: str | None
    ) -> Change:
        done, wanted = _GOAL[action]
        path = self._endpoint_path(project, before.uid) + suffix
        try:
            after = self._endpoint(await self._call(method, path, not_found=before.uid))
        except (ConvoyUnavailable, ConvoyBadResponse) as exc:
            # Convoy may have applied the write before failing: read, never write again.
            return await self._read_back(action, before, exc, project)
        if after.status is not wanted:
            return Change(
                action,
                Outcome.UNEXPECTED,
                before,
                after,
                f"Convoy reports the endpoint {after.status.value or 'in an unknown state'} "
                "after the request; someone may have changed it at the same moment.",
                "202",
            )
        return Change(action, done, before, after, write_status="202")

    async def _read_back(
        self,
        action: Action,
        before: Endpoint,
        cause: ConvoyError,
        project: str | None,
    ) -> Change:
        done, wanted = _GOAL[action]
        logger.warning("convoy %s of %s was ambiguous: %s", action, before.uid, cause.message)
        try:
            after = await self.get_endpoint(before.uid, project)
        except ConvoyError as again:
            return Change(
                action,
                Outcome.UNCONFIRMED,
                before,
                None,
                f"{cause.message} Reading the status back failed too ({again.message}); "
                "the bot did not retry. Check the endpoint with /convoy status.",
                cause.status,
            )
        outcome = done if after.status is wanted else Outcome.NOT_CHANGED
        return Change(
            action,
            outcome,
            before,
            after,
            f"{cause.message} The bot did not retry; status read back from Convoy: "
            f"{after.status.value or 'unknown'}.",
            cause.status,
        )

    def _project_path(self, project: str | None) -> str:
        return f"/v1/projects/{quote(project or self.default_project, safe='')}"

    def _endpoint_path(self, project: str | None, uid: str) -> str:
        return f"{self._project_path(project)}/endpoints/{quote(uid, safe='')}"

    @staticmethod
    def _endpoint(data: Any) -> Endpoint:
        try:
            return Endpoint.model_validate(data)
        except ValidationError as exc:
            raise ConvoyBadResponse("Convoy sent an endpoint the bot cannot read.") from exc

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        not_found: str | None = None,
    ) -> Any:
        """One request; returns the envelope's `data` or raises one of our errors."""
        try:
            response = await self._http.request(method, path, params=params)
        except httpx.TimeoutException as exc:
            raise ConvoyUnavailable("Convoy did not answer in time.", "timeout") from exc
        except httpx.HTTPError as exc:
            raise ConvoyUnavailable("Convoy could not be reached.", "unreachable") from exc
        status = response.status_code
        if status in (200, 201, 202):
            try:
                body = response.json()
            except ValueError as exc:
                raise ConvoyBadResponse(
                    "Convoy sent a reply that is not JSON.", str(status)
                ) from exc
            if not isinstance(body, dict) or body.get("status") is not True or "data" not in body:
                raise ConvoyBadResponse("Convoy's reply did not report success.", str(status))
            return body["data"]
        message = _convoy_message(response)
        if status == 404 and not_found is not None:
            raise EndpointNotFound(f"Convoy has no endpoint `{not_found}`.")
        if status == 400 and not_found is not None and "failed to find endpoint" in message:
            raise EndpointNotFound(f"Convoy has no endpoint `{not_found}`.")
        if status == 400:
            raise ConvoyRejected(f"Convoy refused the request: {message or 'bad request'}.", "400")
        if status in (401, 403):
            raise ConvoyAuthFailed(
                f"Convoy rejected the bot's credentials (HTTP {status}). "
                "The bot's CONVOY_API_KEY needs fixing; ask the bot's operators.",
                str(status),
            )
        if status == 429:
            retry_after = response.headers.get("Retry-After", "")
            seconds = int(retry_after) if retry_after.isdigit() else None
            wait = f" Try again in {seconds} s." if seconds is not None else " Try again shortly."
            raise ConvoyRateLimited(f"Convoy is rate-limiting the bot (HTTP 429).{wait}", seconds)
        if status >= 500:
            raise ConvoyUnavailable(f"Convoy had an internal error (HTTP {status}).", str(status))
        raise ConvoyBadResponse(f"Convoy answered with an unexpected HTTP {status}.", str(status))
