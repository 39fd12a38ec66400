"""ConvoyClient: Convoy's REST API for one project, each call mapped to a model or our error.

The client sends each request once and never retries: Convoy's `PUT .../pause` is a toggle,
so a retried request un-pauses. Deciding whether to write at all, and what an ambiguous
failure means, is `bot.change.locked_change`'s job.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from bot.errors import (
    ConvoyAuthFailed,
    ConvoyBadResponse,
    ConvoyError,
    ConvoyRateLimited,
    ConvoyRejected,
    ConvoyUnavailable,
    EndpointNotFound,
    ProjectMismatch,
)
from bot.failure_rates import PeriodRate
from bot.http_transport import pooled_transport
from bot.models import Delivery, Endpoint, Item, Page
from bot.project import Project

CONVOY_VERSION = "2025-11-24"
CHANGE_HEADER = "X-Convoy-Bot-Change"  # names the bot action a write belongs to, for audits
POOL_SIZE = 50
PAGE_SIZE = 100
MAX_PAGES = 20  # 2,000 endpoints: a search wider than that is not a name lookup any more
RATE_IDS = 40  # endpoint ids per period-failure-rates call: its URL stays under ~2 KB
WATCH_PAGES = 50  # 5,000 endpoints: the watcher reads every endpoint of a project, within reason
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
        # Each phase is bounded here, and the whole call by ConvoyClient's deadline: a reply
        # that drips in a byte at a time never times out a phase.
        timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        follow_redirects=False,
        transport=pooled_transport(
            httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=20)
        ),
    )


# Told of each call: its operation, its status (`ok`, an HTTP status, `timeout`, …), seconds.
Observe = Callable[[str, str, float], None]


def _operation(rest: str) -> str:
    """A call's operation, from its path below the project: a metric label with no ids."""
    parts = rest.strip("/").split("/") if rest.strip("/") else []
    if not parts:
        return "project"
    if parts[0] == "endpoints":
        return ("endpoints", "endpoint", parts[-1])[min(len(parts), 3) - 1]
    if parts[0] == "eventdeliveries":
        return "batchretry" if len(parts) > 1 else "deliveries"
    return "other"


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
    """Endpoint reads and the two writes, for one Convoy project, each within a deadline.

    Convoy takes the project from a project API key and ignores the id in the path, so a key
    of project A used with project B's id acts on A. Every endpoint read is checked to be of
    the project meant (`ProjectMismatch` otherwise): a write is only sent after such a read.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        project: Project,
        deadline_seconds: float,
        observe: Observe | None = None,
    ) -> None:
        self._http = http
        self.project = project
        self.deadline_seconds = deadline_seconds
        self._observe = observe
        # Never more requests than pooled connections: httpcore then never queues one, and
        # a request the deadline cancels cannot strand a pool slot (encode/httpcore#1093,
        # open in httpcore 1.0.9: a request cancelled while queued for a connection leaks
        # it). Waiting here, on asyncio's own semaphore, is safe to cancel.
        self._slots = asyncio.Semaphore(POOL_SIZE)
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def idle(self) -> None:
        """Return once no request is on the way (a retired client is closed then)."""
        await self._idle.wait()

    @contextlib.asynccontextmanager
    async def _counted(self) -> AsyncIterator[None]:
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def get_endpoint(self, uid: str) -> Endpoint:
        """One endpoint by uid; EndpointNotFound when Convoy does not know it."""
        return self._ours(self._endpoint(await self._call("GET", self._endpoint_path(uid), uid)))

    async def project_seen_by_key(self) -> str:
        """The id of the project Convoy serves with this key (`GET /projects/{id}`): for a
        project API key its own project, whatever id the path names."""
        data = await self._call("GET", self._project_path())
        if not isinstance(data, dict) or not isinstance(data.get("uid"), str):
            raise ConvoyBadResponse("Convoy sent a project the bot cannot read.")
        return str(data["uid"])

    def _ours(self, endpoint: Endpoint) -> Endpoint:
        """The endpoint, if it is of the project meant (an empty project id is not checked)."""
        if endpoint.project_id and endpoint.project_id != self.project.project_id:
            raise ProjectMismatch(
                f"Convoy answered with an endpoint of another project ({endpoint.project_id}) "
                f"for project `{self.project.alias}` ({self.project.project_id}): its API key "
                "belongs to another project. Nothing was changed; the bot's operators can see "
                "it with `convoy-bot projects check`."
            )
        return endpoint

    async def search_endpoints(self, query: str = "", limit: int | None = None) -> list[Endpoint]:
        """Every endpoint whose name contains query (Convoy's `q=`), following cursors; with a
        limit, the first `limit` of them (no more pages than that takes)."""
        params: dict[str, str | int] = {"perPage": min(PAGE_SIZE, limit or PAGE_SIZE)}
        if query:
            params["q"] = query
        path = self._project_path() + "/endpoints"
        found: list[Endpoint] = []
        async with contextlib.aclosing(self._pages(path, params, Endpoint)) as pages:
            async for page in pages:
                found += [self._ours(e) for e in page.content]
                if limit is not None and len(found) >= limit:
                    return found[:limit]
        return found

    async def all_endpoints(self) -> tuple[list[Endpoint], bool]:
        """Every endpoint of the project, a page of 100 per call, and whether that is all of
        them (False: more than WATCH_PAGES pages)."""
        params: dict[str, str | int] = {"perPage": PAGE_SIZE}
        path = self._project_path() + "/endpoints"
        found: list[Endpoint] = []
        complete = False
        async for page in self._pages(path, params, Endpoint, WATCH_PAGES):
            found += [self._ours(e) for e in page.content]
            complete = page.pagination is None or not page.pagination.has_next_page
        return found, complete

    async def period_failure_rates(
        self, uids: Sequence[str], start: datetime, end: datetime
    ) -> list[PeriodRate]:
        """Convoy's failure rates of these endpoints' deliveries in [start, end] (fractions,
        none without deliveries), RATE_IDS ids per call."""
        path = self._project_path() + "/endpoints/period-failure-rates"
        window = [("startDate", convoy_time(start)), ("endDate", convoy_time(end))]
        rates: list[PeriodRate] = []
        for first in range(0, len(uids), RATE_IDS):
            ids = [("endpointId", uid) for uid in uids[first : first + RATE_IDS]]
            data = await self._call("GET", path, params=httpx.QueryParams([*ids, *window]))
            if not isinstance(data, list):
                raise ConvoyBadResponse("Convoy sent failure rates the bot cannot read.")
            try:
                rates += [PeriodRate.model_validate(entry) for entry in data]
            except ValidationError as exc:
                raise ConvoyBadResponse("Convoy sent failure rates the bot cannot read.") from exc
        return rates

    async def _pages(
        self, path: str, params: dict[str, str | int], item: type[Item], most: int = MAX_PAGES
    ) -> AsyncGenerator[Page[Item], None]:
        """Each page of a list in turn, following Convoy's cursor, at most `most` pages."""
        for _ in range(most):
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
        await self._call("GET", self._project_path() + "/endpoints", params={"perPage": 1})

    async def count_deliveries(
        self, uid: str, status: str, start: datetime, end: datetime
    ) -> tuple[int, bool]:
        """How many of the endpoint's deliveries in [start, end] have this status, and whether
        that is all of them (False: there were more than MAX_PAGES pages)."""
        params: dict[str, str | int] = {
            **_delivery_filter(uid, status, start, end),
            "perPage": PAGE_SIZE,
        }
        path = self._project_path() + "/eventdeliveries"
        total, complete = 0, False
        async for page in self._pages(path, params, Delivery):
            total += len(page.content)
            complete = page.pagination is None or not page.pagination.has_next_page
        return total, complete

    async def retry_deliveries(
        self, uid: str, status: str, start: datetime, end: datetime, change_id: str
    ) -> None:
        """Ask Convoy to retry the endpoint's deliveries in [start, end] with this status."""
        path = self._project_path() + "/eventdeliveries/batchretry"
        params = _delivery_filter(uid, status, start, end)
        await self._call("POST", path, params=params, change_id=change_id)

    async def toggle_pause(self, uid: str, change_id: str) -> Endpoint:
        """Convoy's pause toggle (active ↔ paused): sent once, never retried."""
        path = self._endpoint_path(uid) + "/pause"
        return self._ours(self._endpoint(await self._call("PUT", path, uid, change_id=change_id)))

    async def activate(self, uid: str, change_id: str) -> Endpoint:
        """Set a paused or inactive endpoint active."""
        path = self._endpoint_path(uid) + "/activate"
        return self._ours(self._endpoint(await self._call("POST", path, uid, change_id=change_id)))

    def _project_path(self) -> str:
        return f"/v1/projects/{quote(self.project.project_id, safe='')}"

    def _endpoint_path(self, uid: str) -> str:
        return f"{self._project_path()}/endpoints/{quote(uid, safe='')}"

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
        not_found: str | None = None,
        *,
        params: dict[str, str | int] | httpx.QueryParams | None = None,
        change_id: str = "",
    ) -> Any:
        """One request within the deadline; the envelope's `data`, or one of our errors
        (naming the call, for the log)."""
        started, status = time.perf_counter(), "ok"
        try:
            return await self._exchange(method, path, not_found, params, change_id)
        except ConvoyError as exc:
            exc.call = f"{method} {self._http.base_url.host} {path}"
            status = exc.status or type(exc).__name__
            raise
        except EndpointNotFound:
            status = "404"
            raise
        finally:
            if self._observe is not None:
                operation = _operation(path.removeprefix(self._project_path()))
                self._observe(operation, status, time.perf_counter() - started)

    async def _exchange(
        self,
        method: str,
        path: str,
        not_found: str | None,
        params: dict[str, str | int] | httpx.QueryParams | None,
        change_id: str,
    ) -> Any:
        headers = {CHANGE_HEADER: change_id} if change_id else None
        try:
            async with asyncio.timeout(self.deadline_seconds), self._slots, self._counted():
                response = await self._http.request(method, path, params=params, headers=headers)
        except (httpx.TimeoutException, TimeoutError) as exc:
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
