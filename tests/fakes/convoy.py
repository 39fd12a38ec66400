"""A fake of Convoy's endpoint API (get, list, pause toggle, activate) and event-delivery API
(list, batch retry) that keeps to its spec, for one or more projects.

Which project a request acts on follows Convoy's `retrieveProject` (api/handlers): a project API
key acts on its own project whatever project id the URL path names, and a personal access token
acts on the project the path names (here: any project the fake knows)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.openapi_contract import (
    ContractRequest,
    ContractResponse,
    convoy_openapi,
    request_errors,
    response_errors,
)

OPERATIONS = frozenset(
    {"project", "get", "list", "rates", "pause", "activate", "deliveries", "batchretry"}
)
STATUSES = frozenset({"active", "paused", "inactive"})
BREAKER_STATES = frozenset({"open", "half-open", "closed"})
# api/handlers/endpoint.go: GetEndpointPeriodFailureRates reads at most this many ids...
MAX_RATE_IDS = 100
# ...and counts these statuses: (Failure + Retry) / (Success + Failure + Retry).
COUNTED_STATUSES = ("Success", "Failure", "Retry")
DEFAULT_PER_PAGE = 20

# `datastore.EventDeliveryStatus` in the spec (its enum also admits "", which no delivery has).
DELIVERY_STATUSES = frozenset(
    {"Scheduled", "Processing", "Discarded", "Failure", "Success", "Retry"}
)
# Convoy's requeueEventDelivery (services/) sets a retried delivery to ScheduledEventStatus.
RETRIED_STATUS = "Scheduled"
# api/handlers/event_delivery.go, BatchRetryEventDelivery: the batch runs as a background job and
# the handler answers 200 with this message and `data: null` (older releases answered
# "%d successful, %d failed"; ForceResendEventDeliveries still does).
BATCH_RETRY_MESSAGE = "Batch retry processing"
# api/models getSearchParams: dates are parsed with Go's time.Parse and this layout (no zone, so
# UTC), then turned into whole Unix seconds.
GO_DATE_LAYOUT = "2006-01-02T15:04:05"
BAD_START_DATE_MESSAGE = f"please specify a startDate in the format {GO_DATE_LAYOUT}"
BAD_END_DATE_MESSAGE = (
    f"please specify a correct endDate in the format {GO_DATE_LAYOUT} or none at all"
)
START_AFTER_END_MESSAGE = "startDate cannot be greater than endDate"
# datastore.ErrProjectNotFound, which the handlers answer with a 400 when retrieveProject fails
# (only a personal access token can name a project that does not exist).
PROJECT_NOT_FOUND_MESSAGE = "project not found"
# Without startDate, Convoy's getSearchParams starts at midnight seven days ago (server time, UTC
# here); older releases started at the Unix epoch.
DEFAULT_START_DAYS = 7

_PROJECT = r"^/api/v1/projects/(?P<project>[^/]+)/endpoints"
_DELIVERIES = r"^/api/v1/projects/(?P<project>[^/]+)/eventdeliveries"
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"^/api/v1/projects/(?P<project>[^/]+)$"), "project"),
    ("GET", re.compile(_PROJECT + r"$"), "list"),
    ("GET", re.compile(_PROJECT + r"/period-failure-rates$"), "rates"),
    ("GET", re.compile(_PROJECT + r"/(?P<uid>[^/]+)$"), "get"),
    ("PUT", re.compile(_PROJECT + r"/(?P<uid>[^/]+)/pause$"), "pause"),
    ("POST", re.compile(_PROJECT + r"/(?P<uid>[^/]+)/activate$"), "activate"),
    ("GET", re.compile(_DELIVERIES + r"$"), "deliveries"),
    ("POST", re.compile(_DELIVERIES + r"/batchretry$"), "batchretry"),
)
# Spec paths that the `{endpointID}` pattern above would otherwise swallow.
_LITERAL_ENDPOINT_PATHS = frozenset({"period-failure-rates", "oauth2"})

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MALFORMED_BODY = b'{"status": true, "message": "Endpoint fetched successfully", "data": {"uid": "'
_DEFAULT_FAULT_MESSAGES = {
    401: "authorization failed",
    403: "unauthorized to access project",
    404: "Resource not found",
    429: "exceeded rate limit",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    # "get" | "list" | "pause" | "activate" | "deliveries" | "batchretry" | "other"
    operation: str
    endpoint_uid: str | None
    received_at: float = 0.0  # time.monotonic(): one clock for every process on the machine
    # The project the request acted on: a project key's own, whatever the path names; None when
    # it was refused before a project was chosen (no or unknown credentials, unknown route).
    project: str | None = None
    # Set once the fake has acted on it (a write applied) and answered: it is recorded on
    # arrival, so a test that reads Convoy's state after a write waits for this.
    answered: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass
class _Fault:
    status: int | None
    message: str
    delay: float
    apply_before_delay: bool
    retry_after: int | None
    malformed_json: bool
    remaining: int | None
    drip: float = 0.0  # seconds between the reply's bytes: each read is quick, the whole is not
    skip: int = 0  # requests to let through untouched before the fault applies
    meanwhile: Callable[[], object] | None = None
    html: str | None = None
    answer_after: Callable[[], object] | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: dict[str, Any]
    headers: dict[str, str]

    def body(self) -> bytes:
        return json.dumps(self.payload).encode()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Reply:
    # Convoy's error envelope has no `data` key at all (SPEC §2).
    return _Reply(status, {"status": False, "message": message}, headers or {})


def _success(status: int, message: str, data: Any) -> _Reply:
    return _Reply(status, {"status": True, "message": message, "data": data}, {})


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


async def _dripping(body: bytes, interval: float) -> AsyncIterator[bytes]:
    """The body a byte at a time: a slow network, or a server stuck mid-reply."""
    for index in range(len(body)):
        yield body[index : index + 1]
        await asyncio.sleep(interval)


def _ilike(pattern: str, text: str) -> bool:
    """Postgres `text ILIKE pattern`: `%` and `_` are wildcards, backslash escapes.

    Convoy searches names with `title ILIKE '%' || q || '%'`, so a `%` or `_` typed by a user
    matches more than the literal character; the fake keeps that surprise.
    """
    regex: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            regex.append(re.escape(next(chars, "\\")))
        elif char == "%":
            regex.append(".*")
        elif char == "_":
            regex.append(".")
        else:
            regex.append(re.escape(char))
    return re.fullmatch("".join(regex), text, re.IGNORECASE | re.DOTALL) is not None


# What Go's time.Parse accepts for "2006-01-02T15:04:05": a four-digit year, two-digit month, day,
# minute and second, a one- or two-digit hour, and (when parsing only) a fractional second that the
# layout does not mention. Anything after that, a zone included, is "extra text" and an error.
_GO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,]\d+)?")


def _parse_go_date(text: str) -> datetime | None:
    """`text` in Convoy's query layout as a UTC moment in whole seconds; None if Go rejects it."""
    match = _GO_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        # The fraction is dropped: Convoy keeps only `.Unix()` seconds of the parsed time.
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # month, day, hour, minute or second out of range, as Go reports too
        return None


def _paginate(
    rows: list[dict[str, Any]], query: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of `rows` ordered by uid, as Convoy pages by id, and its pagination data."""

    def first(name: str) -> str:
        return query.get(name, [""])[0]

    try:
        per_page = int(first("perPage"))
    except ValueError:
        per_page = DEFAULT_PER_PAGE
    if per_page < 1:
        per_page = DEFAULT_PER_PAGE
    descending = first("sort").upper() != "ASC"
    matching = sorted(rows, key=lambda row: str(row["uid"]), reverse=descending)
    uids = [str(row["uid"]) for row in matching]

    def first_not_before(cursor: str) -> int:
        # Cursors compare as ids do in Convoy's SQL (`id <= cursor` when descending), so a
        # cursor needs no lookup and one for a since-deleted row still works.
        return next(
            (i for i, uid in enumerate(uids) if (uid <= cursor if descending else uid >= cursor)),
            len(uids),
        )

    if first("direction") == "prev" and first("prev_page_cursor"):
        end = first_not_before(first("prev_page_cursor"))
        start = max(0, end - per_page)
    else:
        cursor = first("next_page_cursor")
        start = first_not_before(cursor) if cursor else 0
        end = min(len(matching), start + per_page)
    page = matching[start:end]
    # Like Convoy, look at one row past the page to learn whether a next page exists.
    window_uids = uids[start : end + 1]
    pagination = {
        "per_page": per_page,
        "has_next_page": end < len(matching),
        "has_prev_page": start > 0,
        # Convoy's PaginationData.Build: prev = first row fetched, next = last row fetched
        # (the extra row when there is one), and only when more than one row came back.
        # So the next cursor is filled in on the last page too; clients must stop on
        # has_next_page == false, or they fetch the last row again and then start over.
        "prev_page_cursor": window_uids[0] if window_uids else "",
        "next_page_cursor": window_uids[-1] if len(window_uids) > 1 else "",
    }
    return page, pagination


class FakeConvoy:
    """Convoy's endpoint API under /api; tests read its state from any thread.

    `project_id` and `api_key` are the default project and its project API key: endpoints and
    deliveries go there unless a test names another project made with `add_project`.
    """

    def __init__(self, *, project_id: str, api_key: str, check_contract: bool = True) -> None:
        self.project_id = project_id
        self.api_key = api_key
        # Bearer token -> the project it is a project API key of, or None for a personal access
        # token (which acts on the project the path names).
        self._credentials: dict[str, str | None] = {api_key: project_id}
        self._projects: set[str] = {project_id}
        # The benchmark turns the check off: it costs about 1.6 ms of CPU per request, most of
        # a core at 200 pauses/s, on the core the load generator needs.
        self.check_contract = check_contract
        self._lock = threading.Lock()
        self._endpoints: dict[str, dict[str, Any]] = {}
        self._deliveries: dict[str, dict[str, Any]] = {}
        self._ulid_sequence = 0
        self._requests: list[RecordedRequest] = []
        self._faults: dict[str, _Fault] = {}
        self._contract_errors: list[str] = []
        self._last_ulid_ms = 0
        if check_contract:
            # Loading the spec takes about a second: do it now, not inside the first request,
            # where it would eat into the client's timeout.
            convoy_openapi()
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}",
                    self._handle,
                    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                )
            ]
        )

    # --- test-facing API -------------------------------------------------------------------

    def add_project(self, project_id: str, api_key: str | None = None) -> None:
        """Another project, with a project API key of its own when `api_key` is given."""
        with self._lock:
            if api_key is not None and self._credentials.get(api_key, project_id) != project_id:
                raise ValueError("that key already belongs to another project")
            self._projects.add(project_id)
            if api_key is not None:
                self._credentials[api_key] = project_id

    def add_personal_access_token(self, token: str) -> None:
        """A personal access token: it acts on whichever known project the path names."""
        with self._lock:
            if self._credentials.get(token) is not None:
                raise ValueError("that token is already a project API key")
            self._credentials[token] = None

    def add_endpoint(
        self,
        name: str,
        *,
        project: str | None = None,
        status: str = "active",
        uid: str | None = None,
        slack_webhook_url: str = "",
        url: str = "https://receiver.example.com/hooks/convoy",
        secret_marker: str = "s3cr3t-marker",  # noqa: S107  # made up, to spot leaks
        failure_rate: float | None = None,
    ) -> dict[str, Any]:
        """Store an endpoint in `project` (default: the fake's own project); return it.

        Every secret-bearing field contains `secret_marker`.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        with self._lock:
            project = project or self.project_id
            if project not in self._projects:
                raise ValueError(f"unknown project {project!r}: add_project it first")
            uid = uid or self._new_ulid()
            if uid in self._endpoints:
                raise ValueError(f"endpoint {uid!r} already exists")
            now = _timestamp(datetime.now(UTC))
            endpoint = {
                "uid": uid,
                "project_id": project,
                "owner_id": "",
                "name": name,
                "description": f"{name} receiver",
                "status": status,
                "url": url,
                "slack_webhook_url": slack_webhook_url,
                "teams_webhook_url": "",
                "support_email": "",
                "content_type": "application/json",
                "advanced_signatures": False,
                "http_timeout": 30,
                "rate_limit": 5000,
                "rate_limit_duration": 60,
                "events": 0,
                "failure_rate": failure_rate,
                "cb_state": None if failure_rate is None else "closed",
                "period_failure_rate": None,
                "success_count": None,
                "failure_count": None,
                "retry_count": None,
                "secrets": [
                    {
                        "uid": f"{uid}-secret",
                        "value": f"{secret_marker}-signing-secret",
                        "created_at": now,
                        "updated_at": now,
                        "expires_at": None,
                        "deleted_at": None,
                    }
                ],
                "authentication": {
                    "type": "api_key",
                    "api_key": {
                        "header_name": "X-Receiver-Key",
                        "header_value": f"{secret_marker}-api-key-header-value",
                    },
                    "basic_auth": {
                        "username": "convoy",
                        "password": f"{secret_marker}-basic-auth-password",
                    },
                    "oauth2": {
                        "url": "https://auth.example.com/oauth/token",
                        "client_id": "convoy-client",
                        "client_secret": f"{secret_marker}-oauth2-client-secret",
                        "authentication_type": "shared_secret",
                        "grant_type": "client_credentials",
                        "scope": "webhooks",
                        "audience": "",
                        "issuer": "",
                        "subject": "",
                        "signing_algorithm": "",
                        "expiry_time_unit": "seconds",
                        "field_mapping": {
                            "access_token": "access_token",
                            "token_type": "token_type",
                            "expires_in": "expires_in",
                        },
                        "signing_key": {
                            "kty": "EC",
                            "crv": "P-256",
                            "kid": "convoy-key-1",
                            "x": "public-x",
                            "y": "public-y",
                            "d": f"{secret_marker}-oauth2-signing-key-d",
                        },
                    },
                },
                "mtls_client_cert": {
                    "client_cert": (
                        "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----"
                    ),
                    "client_key": (
                        f"-----BEGIN PRIVATE KEY-----\n{secret_marker}-mtls-client-key\n"
                        "-----END PRIVATE KEY-----"
                    ),
                },
                "created_at": now,
                "updated_at": now,
                "deleted_at": None,
            }
            self._endpoints[uid] = endpoint
            return copy.deepcopy(endpoint)

    def new_uid(self) -> str:
        """A fresh ULID, as Convoy makes them (for a test that needs the uid before adding)."""
        with self._lock:
            return self._new_ulid()

    def endpoint(self, uid: str) -> dict[str, Any]:
        """The endpoint as Convoy holds it now."""
        with self._lock:
            return copy.deepcopy(self._stored(uid))

    def set_status(self, uid: str, status: str) -> None:
        """Change an endpoint's status behind the bot's back (a person in the UI, the breaker)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {sorted(STATUSES)}, not {status!r}")
        with self._lock:
            self._set_endpoint_status(self._stored(uid), status)

    def set_breaker(self, uid: str, failure_rate: float | None, state: str | None) -> None:
        """What Convoy's circuit breaker says of an endpoint: its rolling failure rate (a
        percentage, 0-100) and its state; None for both when the breaker is off."""
        if state is not None and state not in BREAKER_STATES:
            raise ValueError(f"state must be one of {sorted(BREAKER_STATES)}, not {state!r}")
        with self._lock:
            endpoint = self._stored(uid)
            endpoint["failure_rate"] = failure_rate
            endpoint["cb_state"] = state

    def delete_endpoint(self, uid: str) -> None:
        """Someone deleted the endpoint in Convoy's dashboard (its deliveries stay)."""
        with self._lock:
            self._stored(uid)
            del self._endpoints[uid]

    def add_event_delivery(
        self,
        endpoint_uid: str,
        *,
        status: str = "Discarded",
        created_at: datetime | None = None,
        uid: str | None = None,
        event_type: str = "invoice.paid",
    ) -> dict[str, Any]:
        """Store an event delivery to `endpoint_uid`; return it as Convoy's list would show it.

        `created_at` defaults to now; a naive datetime is taken as UTC. The uid (a ULID made from
        `created_at` unless given) is what lists sort and page by, as Convoy orders by id. The
        endpoint need not exist: Convoy keeps deliveries of deleted endpoints and its list joins
        them with empty metadata. The delivery belongs to its endpoint's project (the fake's own
        project when the endpoint does not exist).
        """
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {sorted(DELIVERY_STATUSES)}, not {status!r}")
        if created_at is None:
            moment = None
        elif created_at.tzinfo is None:
            moment = created_at.replace(tzinfo=UTC)
        else:
            moment = created_at.astimezone(UTC)
        with self._lock:
            if moment is None:
                moment = datetime.now(UTC)
                uid = uid or self._new_ulid()
            else:
                uid = uid or self._ulid_at(int(moment.timestamp() * 1000))
            if uid in self._deliveries:
                raise ValueError(f"event delivery {uid!r} already exists")
            endpoint = self._endpoints.get(endpoint_uid)
            created = _timestamp(moment)
            event_id = self._ulid_at(int(moment.timestamp() * 1000))
            retry_limit = 3
            delivery = {
                "uid": uid,
                "project_id": endpoint["project_id"] if endpoint is not None else self.project_id,
                "event_id": event_id,
                "endpoint_id": endpoint_uid,
                "device_id": "",
                "subscription_id": f"sub-{endpoint_uid}",
                "headers": {"X-Convoy-Event-Type": [event_type]},
                "url_query_params": "",
                "idempotency_key": "",
                "latency": "",
                "latency_seconds": 0.0 if status in {"Scheduled", "Discarded"} else 0.25,
                "event_type": event_type,
                "target_url": endpoint["url"] if endpoint is not None else "",
                "delivery_mode": "at_least_once",
                "status": status,
                "metadata": {
                    "data": {"event": event_type},
                    "raw": json.dumps({"event": event_type}),
                    "strategy": "linear",
                    "next_send_time": created,
                    "num_trials": {"Scheduled": 0, "Discarded": 0, "Failure": retry_limit}.get(
                        status, 1
                    ),
                    "interval_seconds": 10,
                    "retry_limit": retry_limit,
                    "max_retry_seconds": 7200,
                },
                "cli_metadata": None,
                "description": "",
                "acknowledged_at": created,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
                "event_metadata": {"uid": event_id, "event_type": event_type},
                "source_metadata": {"uid": "", "name": "", "idempotency_keys": []},
                "device_metadata": {"uid": "", "status": "", "host_name": ""},
            }
            self._deliveries[uid] = delivery
            return self._render_delivery(delivery)

    def event_deliveries(self, endpoint_uid: str | None = None) -> list[dict[str, Any]]:
        """Every stored delivery (or those to `endpoint_uid`) as it is now, newest first."""
        with self._lock:
            return [
                self._render_delivery(d)
                for d in sorted(
                    self._deliveries.values(), key=lambda d: str(d["uid"]), reverse=True
                )
                if endpoint_uid is None or d["endpoint_id"] == endpoint_uid
            ]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def writes(self) -> list[RecordedRequest]:
        """The pause and activate requests received, oldest first."""
        return [r for r in self.requests if r.operation in {"pause", "activate"}]

    def set_fault(
        self,
        operation: str,
        *,
        status: int | None = None,
        message: str | None = None,
        delay: float = 0.0,
        apply_before_delay: bool = True,
        retry_after: int | None = None,
        malformed_json: bool = False,
        times: int | None = None,
        drip: float = 0.0,
        skip: int = 0,
        meanwhile: Callable[[], object] | None = None,
        html: str | None = None,
        answer_after: Callable[[], object] | None = None,
    ) -> None:
        """Make the next `times` (None: all) `operation` requests misbehave; replaces its fault.

        `meanwhile`: run this (in a worker thread) when the request has arrived, before Convoy
        acts on it or answers: someone changing the endpoint at that moment, a neighbour going
        down, or a gate the test opens later (`gate.wait`) to hold the request until then.

        `status`: answer with that status and Convoy's error envelope, change nothing.
        `delay`: sleep before answering; without `status`, a write still happens, before the
        sleep if `apply_before_delay`, else after it, so a client timeout stays ambiguous.
        `malformed_json`: send a body that is not JSON, with `status` if given, else with the
        status of the real work, which is done.
        `drip`: send the reply one byte every `drip` seconds (a per-read timeout never fires).
        `skip`: answer the first `skip` requests normally (the fault counts from the next one).
        `html`: with `status`, answer with this HTML page instead of Convoy's envelope, as a
        proxy or load balancer in front of Convoy does.
        `answer_after`: act (or read) at once, then hold the answer until this returns (in a
        worker thread): a reply that says how the endpoint was, sent after it changed.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {sorted(OPERATIONS)}, not {operation!r}")
        if html is not None and status is None:
            raise ValueError("an html page is sent with a status")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        if message is None:
            message = _DEFAULT_FAULT_MESSAGES.get(status or 500, "internal server error")
        with self._lock:
            self._faults[operation] = _Fault(
                status,
                message,
                delay,
                apply_before_delay,
                retry_after,
                malformed_json,
                times,
                drip,
                skip,
                meanwhile,
                html,
                answer_after,
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget endpoints, event deliveries, requests, faults, contract errors, and projects
        and tokens other than the default ones."""
        with self._lock:
            self._credentials = {self.api_key: self.project_id}
            self._projects = {self.project_id}
            self._endpoints.clear()
            self._deliveries.clear()
            self._requests.clear()
            self._faults.clear()
            self._contract_errors.clear()

    @property
    def contract_errors(self) -> list[str]:
        """Requests received and responses sent that broke Convoy's OpenAPI spec."""
        with self._lock:
            return list(self._contract_errors)

    # --- state: _perform takes the lock; the other helpers here expect it held ----------------

    def _new_ulid(self) -> str:
        # ULIDs sort by creation time, and Convoy orders lists by id; the millisecond is bumped
        # when needed so that endpoints added in one burst still sort newest first.
        ms = max(time.time_ns() // 1_000_000, self._last_ulid_ms + 1)
        self._last_ulid_ms = ms
        value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def _ulid_at(self, ms: int) -> str:
        # A ULID for a given moment; a sequence number ahead of the random bits keeps ids made
        # for the same millisecond in the order they were made.
        self._ulid_sequence += 1
        value = (max(ms, 0) << 80) | (self._ulid_sequence << 40) | int.from_bytes(os.urandom(5))
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def _stored(self, uid: str) -> dict[str, Any]:
        try:
            return self._endpoints[uid]
        except KeyError:
            raise KeyError(f"fake Convoy has no endpoint {uid!r}") from None

    @staticmethod
    def _set_endpoint_status(endpoint: dict[str, Any], status: str) -> None:
        # Convoy's UpdateEndpointStatus sets only the status column: updated_at stays as it was.
        endpoint["status"] = status

    @staticmethod
    def _set_status(endpoint: dict[str, Any], status: str) -> None:
        previous = datetime.fromisoformat(endpoint["updated_at"])
        # Two writes within one clock tick must still show a newer updated_at.
        moment = max(datetime.now(UTC), previous + timedelta(microseconds=1))
        endpoint["status"] = status
        endpoint["updated_at"] = _timestamp(moment)

    def _take_fault(self, operation: str) -> _Fault | None:
        fault = self._faults.get(operation)
        if fault is None:
            return None
        if fault.skip > 0:
            fault.skip -= 1
            return None
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining == 0:
                del self._faults[operation]
        return fault

    def _perform(
        self, operation: str, project: str, uid: str | None, query: dict[str, list[str]]
    ) -> _Reply:
        with self._lock:
            if operation == "project":
                return _success(200, "Project fetched successfully", self._project(project))
            if operation == "list":
                return self._list(project, query)
            if operation == "deliveries":
                return self._list_deliveries(project, query)
            if operation == "rates":
                return self._period_failure_rates(project, query)
            if operation == "batchretry":
                return self._batch_retry(project, query)
            assert uid is not None
            return self._perform_on_endpoint(operation, project, uid)

    def _perform_on_endpoint(self, operation: str, project: str, uid: str) -> _Reply:
        """get, pause or activate one endpoint (the lock is held)."""
        endpoint = self._endpoints.get(uid)
        if endpoint is not None and endpoint["project_id"] != project:
            endpoint = None  # Convoy looks endpoints up by id *and* project
        if operation == "get":
            if endpoint is None:
                return _error(404, "Resource not found")
            # GetEndpoint does not ask the circuit breaker's store: only the list does.
            found = {**copy.deepcopy(endpoint), "failure_rate": None, "cb_state": None}
            return _success(200, "Endpoint fetched successfully", found)
        # Convoy's pause and activate services answer an unknown id with a 400.
        if endpoint is None:
            return _error(400, "failed to find endpoint")
        current = endpoint["status"]
        if operation == "pause":
            if current not in {"active", "paused"}:
                return _error(
                    400,
                    f"current endpoint status - {current}, does not support pausing or unpausing",
                )
            # The real thing toggles: a repeated PUT un-pauses.
            self._set_endpoint_status(endpoint, "paused" if current == "active" else "active")
            message = "endpoint status updated successfully"
        else:
            if current not in {"paused", "inactive"}:
                return _error(
                    400, f"current endpoint status - {current}, does not support activation"
                )
            self._set_endpoint_status(endpoint, "active")
            message = "endpoint status successfully activated"
        return _success(202, message, copy.deepcopy(endpoint))

    @staticmethod
    def _project(project: str) -> dict[str, Any]:
        """GetProject's answer: for a project API key, the key's own project."""
        created = _timestamp(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
        return {
            "uid": project,
            "name": f"project {project[-6:].lower()}",
            "type": "outgoing",
            "organisation_id": "01HORGANISATION0000000000",
            "logo_url": "",
            "retained_events": 0,
            "config": None,
            "statistics": None,
            "created_at": created,
            "updated_at": created,
            "deleted_at": None,
        }

    def _list(self, project: str, query: dict[str, list[str]]) -> _Reply:
        def first(name: str) -> str:
            return query.get(name, [""])[0]

        search, owner = first("q"), first("ownerId")
        page, pagination = _paginate(
            [
                e
                for e in self._endpoints.values()
                if e["project_id"] == project
                and (not search or _ilike(f"%{search}%", e["name"]))
                and (not owner or e["owner_id"] == owner)
            ],
            query,
        )
        content = [copy.deepcopy(e) for e in page]
        return _success(
            200, "Endpoints fetched successfully", {"content": content, "pagination": pagination}
        )

    def _period_failure_rates(self, project: str, query: dict[str, list[str]]) -> _Reply:
        """GetEndpointPeriodFailureRates: for each id asked (at most MAX_RATE_IDS, duplicates and
        blanks dropped), the share of its counted deliveries in the window that failed."""
        ids = list(dict.fromkeys(v.strip() for v in query.get("endpointId", []) if v.strip()))
        ids = ids[:MAX_RATE_IDS]
        message = "Endpoint period failure rates fetched successfully"
        if not ids:
            return _success(200, message, [])
        window = {k: v for k, v in query.items() if k in ("startDate", "endDate")}
        matching = self._matching_deliveries(project, window)
        if isinstance(matching, _Reply):
            return matching
        rates = []
        for uid in ids:
            counts = {status: 0 for status in COUNTED_STATUSES}
            for delivery in matching:
                if delivery["endpoint_id"] == uid and delivery["status"] in counts:
                    counts[delivery["status"]] += 1
            total = sum(counts.values())
            entry: dict[str, Any] = {"uid": uid}
            if total:
                # The spec has no nullable counts, so an endpoint without deliveries in the
                # window carries its uid alone.
                failed = counts["Failure"] + counts["Retry"]
                entry.update(
                    period_failure_rate=failed / total,
                    success_count=counts["Success"],
                    failure_count=counts["Failure"],
                    retry_count=counts["Retry"],
                )
            rates.append(entry)
        return _success(200, message, rates)

    def _render_delivery(self, delivery: dict[str, Any]) -> dict[str, Any]:
        """A copy of `delivery` with the endpoint columns Convoy's list query joins in."""
        endpoint = self._endpoints.get(delivery["endpoint_id"]) or {}
        rendered = copy.deepcopy(delivery)
        # LEFT JOIN convoy.endpoints ... COALESCE(ep.x, ''): a missing endpoint gives empty strings.
        rendered["endpoint_metadata"] = {
            "uid": endpoint.get("uid", ""),
            "name": endpoint.get("name", ""),
            "project_id": endpoint.get("project_id", ""),
            "support_email": endpoint.get("support_email", ""),
            "url": endpoint.get("url", ""),
            "owner_id": endpoint.get("owner_id", ""),
        }
        return rendered

    def _matching_deliveries(
        self, project: str, query: dict[str, list[str]]
    ) -> list[dict[str, Any]] | _Reply:
        """The stored deliveries Convoy's QueryListEventDelivery filter selects, or its 400."""

        def first(name: str) -> str:
            return query.get(name, [""])[0]

        def every(name: str) -> set[str]:
            return {value for value in query.get(name, []) if value}

        raw_start, raw_end = first("startDate"), first("endDate")
        now = datetime.now(UTC)
        if raw_start:
            start = _parse_go_date(raw_start)
            if start is None:
                return _error(400, BAD_START_DATE_MESSAGE)
        else:
            start = (now - timedelta(days=DEFAULT_START_DAYS)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
        if raw_end:
            end = _parse_go_date(raw_end)
            if end is None:
                return _error(400, BAD_END_DATE_MESSAGE)
        else:
            # End of today, 23:59:59.999999999, cut to whole seconds by `.Unix()`.
            end = now.replace(hour=23, minute=59, second=59, microsecond=0)
        if start > end:
            return _error(400, START_AFTER_END_MESSAGE)
        endpoint_ids, statuses = every("endpointId"), every("status")
        event_id, subscription_id = first("eventId"), first("subscriptionId")
        # Convoy's Transform reads `eventType`, not the `event_type` its spec documents, so the
        # documented name filters nothing there and nothing here.
        event_type = first("eventType")
        return [
            d
            for d in self._deliveries.values()
            if d["project_id"] == project
            and start <= datetime.fromisoformat(d["created_at"]) <= end
            and (not endpoint_ids or d["endpoint_id"] in endpoint_ids)
            and (not statuses or d["status"] in statuses)
            and (not event_id or d["event_id"] == event_id)
            and (not subscription_id or d["subscription_id"] == subscription_id)
            and (not event_type or d["event_type"] == event_type)
        ]

    def _list_deliveries(self, project: str, query: dict[str, list[str]]) -> _Reply:
        matching = self._matching_deliveries(project, query)
        if isinstance(matching, _Reply):
            return matching
        page, pagination = _paginate(matching, query)
        content = [self._render_delivery(d) for d in page]
        return _success(
            200,
            "Event deliveries fetched successfully",
            {"content": content, "pagination": pagination},
        )

    def _batch_retry(self, project: str, query: dict[str, list[str]]) -> _Reply:
        # Convoy ignores paging here (the job walks every matching delivery) and requeues each
        # one; the fake does the job's work at once, so a test sees the outcome immediately.
        matching = self._matching_deliveries(project, query)
        if isinstance(matching, _Reply):
            return matching
        for delivery in matching:
            self._set_status(delivery, RETRIED_STATUS)
        return _success(200, BATCH_RETRY_MESSAGE, None)

    # --- HTTP -------------------------------------------------------------------------------

    @staticmethod
    def _route(method: str, path: str) -> tuple[str, str | None, str | None]:
        """(operation, project id, endpoint uid) for a request line."""
        for route_method, pattern, operation in _ROUTES:
            match = pattern.match(path)
            if match is None or method != route_method:
                continue
            uid = match.groupdict().get("uid")
            if uid in _LITERAL_ENDPOINT_PATHS:
                continue
            return operation, match["project"], uid
        return "other", None, None

    def _acting_project(
        self, operation: str, path_project: str | None, headers: dict[str, str]
    ) -> str | _Reply:
        """The project a request acts on, or the error Convoy answers instead."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        with self._lock:
            known = scheme.lower() == "bearer" and token in self._credentials
            key_project = self._credentials.get(token) if known else None
            projects = set(self._projects)
        if not known:
            return _error(401, "authorization failed")
        if operation == "other" or path_project is None:
            return _error(404, "Resource not found")
        if key_project is not None:
            return key_project  # a project API key: its own project, whatever the path says
        if path_project not in projects:
            return _error(400, PROJECT_NOT_FOUND_MESSAGE)
        return path_project

    async def _handle(self, request: Request) -> Response:
        received_at = time.monotonic()
        body = await request.body()
        method, path = request.method, request.url.path
        raw_query = request.url.query
        query_pairs = parse_qsl(raw_query, keep_blank_values=True)
        query: dict[str, list[str]] = {}
        for name, value in query_pairs:
            query.setdefault(name, []).append(value)
        headers = {name: ", ".join(request.headers.getlist(name)) for name in request.headers}
        operation, path_project, uid = self._route(method, path)
        acting = self._acting_project(operation, path_project, headers)
        project = acting if isinstance(acting, str) else None
        recorded = RecordedRequest(
            method, path, query, headers, body, operation, uid, received_at, project
        )
        with self._lock:
            self._requests.append(recorded)
        contract_request = ContractRequest(method, path, query_pairs, headers, body)
        if self.check_contract:
            self._record_contract_errors(
                f"request {method} {path}", request_errors(contract_request)
            )

        if isinstance(acting, _Reply):
            reply, fault = acting, None
        else:
            reply, fault = await self._respond(operation, acting, uid, query)
        recorded.answered.set()
        status, reply_body = reply.status, reply.body()
        media_type = "application/json"
        if fault is not None and fault.malformed_json:
            reply_body = _MALFORMED_BODY
        if fault is not None and fault.html is not None:
            reply_body, media_type = fault.html.encode(), "text/html"
        response_headers = {"content-type": media_type, **reply.headers}
        # A fault-shaped response is exempt from the spec on purpose: malformed bodies break it by
        # design, and Convoy sends statuses (403, 429, 5xx) that its spec does not list.
        if self.check_contract and (
            fault is None or (fault.status is None and not fault.malformed_json)
        ):
            self._record_contract_errors(
                f"response {status} to {method} {path}",
                response_errors(
                    contract_request, ContractResponse(status, reply_body, response_headers)
                ),
            )
        if fault is not None and fault.drip:
            return StreamingResponse(
                _dripping(reply_body, fault.drip),
                status_code=status,
                headers=reply.headers,
                media_type="application/json",
            )
        return Response(
            reply_body, status_code=status, headers=reply.headers, media_type=media_type
        )

    async def _respond(
        self, operation: str, project: str, uid: str | None, query: dict[str, list[str]]
    ) -> tuple[_Reply, _Fault | None]:
        with self._lock:
            fault = self._take_fault(operation)
        if fault is None:
            return self._perform(operation, project, uid, query), None
        if fault.meanwhile is not None:
            await asyncio.to_thread(fault.meanwhile)
        if fault.status is not None:
            await asyncio.sleep(fault.delay)
            extra: dict[str, str] = {}
            if fault.status == 429 and fault.retry_after is not None:
                extra["retry-after"] = str(fault.retry_after)
            return _error(fault.status, fault.message, extra), fault
        if fault.apply_before_delay:
            reply = self._perform(operation, project, uid, query)
            if fault.answer_after is not None:
                await asyncio.to_thread(fault.answer_after)
            await asyncio.sleep(fault.delay)
        else:
            # Convoy received the request but has not acted yet: a client that gives up now
            # cannot know whether the change will land (it will, once the delay is over).
            await asyncio.sleep(fault.delay)
            reply = self._perform(operation, project, uid, query)
        return reply, fault

    def _record_contract_errors(self, what: str, errors: list[str]) -> None:
        if errors:
            with self._lock:
                self._contract_errors.extend(f"{what}: {error}" for error in errors)
