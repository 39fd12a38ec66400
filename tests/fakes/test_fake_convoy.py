"""The fake Convoy behaves like Convoy's endpoint API and keeps to Convoy's OpenAPI spec."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes.convoy import FakeConvoy
from tests.fakes.loopback import LoopbackServer
from tests.fakes.openapi_contract import (
    VENDORED_SPEC,
    ContractRequest,
    ContractResponse,
    request_errors,
    response_errors,
)

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

PROJECT = "01PROJECTFAKE000000000000A"
API_KEY = "CO.fake-api-key"
VERSION = "2025-11-24"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeConvoy, LoopbackServer]]:
    fake = FakeConvoy(project_id=PROJECT, api_key=API_KEY)
    server = LoopbackServer(fake.app).start()
    yield fake, server
    server.stop()
    # LoopbackServer.stop() leaves its event loop open, and the ResourceWarning raised when it is
    # collected fails the run under `filterwarnings = error`; closing belongs in loopback.py.
    server._loop.close()


@pytest.fixture
def fake(served: tuple[FakeConvoy, LoopbackServer]) -> Iterator[FakeConvoy]:
    served[0].reset()
    yield served[0]
    served[0].reset()


@pytest.fixture
def client(served: tuple[FakeConvoy, LoopbackServer]) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{served[1].url}/api/v1/projects/{PROJECT}",
        headers={"Authorization": f"Bearer {API_KEY}", "X-Convoy-Version": VERSION},
        timeout=5.0,
    ) as http:
        yield http


def data(response: httpx.Response) -> Any:
    body = response.json()
    assert body["status"] is True
    return body["data"]


def error_message(response: httpx.Response) -> str:
    body = response.json()
    assert body["status"] is False
    assert "data" not in body
    message: str = body["message"]
    return message


def wait_for_status(fake: FakeConvoy, uid: str, status: str, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while fake.endpoint(uid)["status"] != status:
        assert time.monotonic() < deadline, f"{uid} never became {status}"
        time.sleep(0.02)


def test_get_returns_the_stored_endpoint_with_every_secret_filled(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """GET returns the whole endpoint, secrets included, and the response fits the spec."""
    stored = fake.add_endpoint("Orders API", secret_marker="MARK-42", failure_rate=0.25)

    response = client.get(f"/endpoints/{stored['uid']}")

    assert response.status_code == 200
    endpoint = data(response)
    # GetEndpoint does not ask the circuit breaker (api/handlers/endpoint.go): the list does.
    assert endpoint == {**stored, "failure_rate": None, "cb_state": None}
    auth = endpoint["authentication"]
    secrets = [
        endpoint["secrets"][0]["value"],
        auth["api_key"]["header_value"],
        auth["basic_auth"]["password"],
        auth["oauth2"]["client_secret"],
        auth["oauth2"]["signing_key"]["d"],
        endpoint["mtls_client_cert"]["client_key"],
    ]
    assert all("MARK-42" in secret for secret in secrets)
    assert fake.contract_errors == []


def test_get_unknown_endpoint_is_404_resource_not_found(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """GET of an id Convoy does not have is a 404 `Resource not found` envelope."""
    response = client.get("/endpoints/01NOSUCHENDPOINT0000000000")

    assert response.status_code == 404
    assert error_message(response) == "Resource not found"
    assert fake.contract_errors == []


def test_pause_is_a_toggle_so_two_puts_return_to_active(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """PUT /pause pauses and a second PUT un-pauses; updated_at stays, as in Convoy."""
    uid = fake.add_endpoint("orders")["uid"]
    created = fake.endpoint(uid)["updated_at"]

    first = client.put(f"/endpoints/{uid}/pause")
    second = client.put(f"/endpoints/{uid}/pause")

    assert (first.status_code, data(first)["status"]) == (202, "paused")
    assert (second.status_code, data(second)["status"]) == (202, "active")
    assert created == data(first)["updated_at"] == data(second)["updated_at"]
    assert fake.endpoint(uid)["status"] == "active"
    assert [(w.operation, w.endpoint_uid) for w in fake.writes()] == [("pause", uid)] * 2
    assert fake.contract_errors == []


def test_pause_on_inactive_endpoint_is_400_and_changes_nothing(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """PUT /pause on an inactive endpoint is Convoy's 400 and leaves it inactive."""
    uid = fake.add_endpoint("orders", status="inactive")["uid"]

    response = client.put(f"/endpoints/{uid}/pause")

    assert response.status_code == 400
    assert error_message(response) == (
        "current endpoint status - inactive, does not support pausing or unpausing"
    )
    assert fake.endpoint(uid)["status"] == "inactive"
    assert fake.contract_errors == []


@pytest.mark.parametrize(("method", "action"), [("PUT", "pause"), ("POST", "activate")])
def test_writes_to_unknown_endpoint_are_400_failed_to_find(
    fake: FakeConvoy, client: httpx.Client, method: str, action: str
) -> None:
    """Pause and activate of an unknown id are a 400 `failed to find endpoint`, as in Convoy."""
    response = client.request(method, f"/endpoints/01NOSUCHENDPOINT0000000000/{action}")

    assert response.status_code == 400
    assert error_message(response) == "failed to find endpoint"
    assert fake.contract_errors == []


@pytest.mark.parametrize("status", ["paused", "inactive"])
def test_activate_sets_active_from_paused_or_inactive(
    fake: FakeConvoy, client: httpx.Client, status: str
) -> None:
    """POST /activate makes a paused or inactive endpoint active and answers 202 with it."""
    uid = fake.add_endpoint("orders", status=status)["uid"]

    response = client.post(f"/endpoints/{uid}/activate")

    assert (response.status_code, data(response)["status"]) == (202, "active")
    assert fake.endpoint(uid)["status"] == "active"
    assert fake.contract_errors == []


def test_activate_on_active_endpoint_is_400(fake: FakeConvoy, client: httpx.Client) -> None:
    """POST /activate on an active endpoint is a 400 and is not a toggle."""
    uid = fake.add_endpoint("orders")["uid"]

    response = client.post(f"/endpoints/{uid}/activate")

    assert response.status_code == 400
    assert (
        error_message(response) == "current endpoint status - active, does not support activation"
    )
    assert fake.endpoint(uid)["status"] == "active"
    assert fake.contract_errors == []


def test_list_pages_45_endpoints_newest_first_with_a_cursor_on_the_last_page(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """45 endpoints at perPage=20 come as 20+20+5, newest first; the last page keeps a cursor."""
    uids = [fake.add_endpoint(f"service-{n:02d}")["uid"] for n in range(45)]
    params: dict[str, str | int] = {"perPage": 20}
    pages = []
    for _ in range(3):
        page = data(client.get("/endpoints", params=params))
        pages.append(page)
        params = {
            **params,
            "direction": "next",
            "next_page_cursor": page["pagination"]["next_page_cursor"],
        }

    assert [len(p["content"]) for p in pages] == [20, 20, 5]
    assert [p["pagination"]["has_next_page"] for p in pages] == [True, True, False]
    assert [p["pagination"]["has_prev_page"] for p in pages] == [False, True, True]
    assert pages[-1]["pagination"]["next_page_cursor"] != ""
    assert pages[-1]["pagination"]["per_page"] == 20
    listed = [e["uid"] for p in pages for e in p["content"]]
    assert listed == list(reversed(uids))
    assert fake.contract_errors == []


def test_list_defaults_to_20_per_page(fake: FakeConvoy, client: httpx.Client) -> None:
    """Without perPage, a list returns 20 endpoints and says a next page exists."""
    for n in range(21):
        fake.add_endpoint(f"service-{n}")

    page = data(client.get("/endpoints"))

    assert len(page["content"]) == 20
    assert page["pagination"]["per_page"] == 20
    assert page["pagination"]["has_next_page"] is True


def test_list_q_matches_a_case_insensitive_substring_of_the_name(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """q= keeps only endpoints whose name contains it, ignoring case."""
    fake.add_endpoint("Orders API")
    fake.add_endpoint("orders-eu")
    fake.add_endpoint("Billing")

    page = data(client.get("/endpoints", params={"q": "ORDERS", "perPage": 20}))

    assert sorted(e["name"] for e in page["content"]) == ["Orders API", "orders-eu"]
    assert page["pagination"]["has_next_page"] is False
    assert fake.contract_errors == []


def test_missing_key_is_401_and_a_contract_error_wrong_key_is_401(
    fake: FakeConvoy, served: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """No key or a wrong key gets a 401 envelope; sending no key also breaks the spec's security."""
    uid = fake.add_endpoint("orders")["uid"]
    url = f"{served[1].url}/api/v1/projects/{PROJECT}/endpoints/{uid}"

    missing = httpx.get(url)
    wrong = httpx.get(url, headers={"Authorization": "Bearer not-the-key"})

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert error_message(missing) == error_message(wrong) == "authorization failed"
    assert len(fake.contract_errors) == 1
    assert "SecurityValidationError" in fake.contract_errors[0]


def test_every_request_is_recorded_with_its_headers(fake: FakeConvoy, client: httpx.Client) -> None:
    """Requests are recorded in order with method, query, lower-case headers and operation."""
    uid = fake.add_endpoint("orders")["uid"]

    client.get("/endpoints", params={"q": "ord"})
    client.get(f"/endpoints/{uid}")
    client.put(f"/endpoints/{uid}/pause")
    client.post(f"/endpoints/{uid}/activate")
    client.delete(f"/endpoints/{uid}")

    recorded = fake.requests
    assert [(r.method, r.operation, r.endpoint_uid) for r in recorded] == [
        ("GET", "list", None),
        ("GET", "get", uid),
        ("PUT", "pause", uid),
        ("POST", "activate", uid),
        ("DELETE", "other", None),
    ]
    assert recorded[0].query == {"q": ["ord"]}
    assert all(r.headers["x-convoy-version"] == VERSION for r in recorded)
    assert [w.operation for w in fake.writes()] == ["pause", "activate"]


def test_status_fault_answers_429_with_retry_after_and_changes_nothing(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """A 429 fault sends Convoy's envelope and Retry-After, and the endpoint stays active."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.set_fault("pause", status=429, retry_after=7, times=1)

    limited = client.put(f"/endpoints/{uid}/pause")

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert error_message(limited) == "exceeded rate limit"
    assert fake.endpoint(uid)["status"] == "active"
    assert data(client.put(f"/endpoints/{uid}/pause"))["status"] == "paused"
    assert fake.contract_errors == []


def test_fault_applies_only_the_given_number_of_times(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """A fault with times=2 hits two requests, then the real answer comes back."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.set_fault("get", status=503, message="upstream unavailable", times=2)

    codes = [client.get(f"/endpoints/{uid}").status_code for _ in range(3)]

    assert codes == [503, 503, 200]


def test_clear_faults_restores_normal_answers(fake: FakeConvoy, client: httpx.Client) -> None:
    """After clear_faults, a fault set until cleared no longer applies."""
    fake.set_fault("list", status=500)
    assert client.get("/endpoints").status_code == 500

    fake.clear_faults()

    assert client.get("/endpoints").status_code == 200


def test_delay_applied_before_makes_a_timed_out_pause_land_anyway(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """With apply_before_delay, a PUT the client gave up on has paused the endpoint anyway."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.set_fault("pause", delay=0.6, times=1)

    with pytest.raises(httpx.ReadTimeout):
        client.put(f"/endpoints/{uid}/pause", timeout=0.15)

    assert fake.endpoint(uid)["status"] == "paused"


def test_delay_applied_after_lands_only_once_the_delay_is_over(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """Without apply_before_delay, a timed-out PUT is not applied yet, then lands later."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.set_fault("pause", delay=0.4, apply_before_delay=False, times=1)

    with pytest.raises(httpx.ReadTimeout):
        client.put(f"/endpoints/{uid}/pause", timeout=0.1)

    assert fake.endpoint(uid)["status"] == "active"
    wait_for_status(fake, uid, "paused")


def test_meanwhile_runs_after_the_request_arrives_and_before_convoy_acts(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """A PUT whose `meanwhile` pauses the endpoint first toggles it back: the answer says active."""
    uid = fake.add_endpoint("orders")["uid"]
    seen: list[int] = []

    def someone_pauses_it() -> None:
        seen.append(len(fake.requests))
        fake.set_status(uid, "paused")

    fake.set_fault("pause", meanwhile=someone_pauses_it, times=1)

    toggled = client.put(f"/endpoints/{uid}/pause")

    assert seen == [1], "the request was recorded before meanwhile ran"
    assert (toggled.status_code, data(toggled)["status"]) == (202, "active")
    assert fake.endpoint(uid)["status"] == "active"
    assert fake.contract_errors == []


def test_malformed_json_fault_sends_a_body_that_is_not_json(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """A malformed_json fault answers 200 with a body no JSON parser accepts, and is exempt."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.set_fault("get", malformed_json=True)

    response = client.get(f"/endpoints/{uid}")

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert fake.contract_errors == []


def test_html_fault_answers_with_a_proxys_page(fake: FakeConvoy, client: httpx.Client) -> None:
    """An html fault sends that page as text/html with its status, and changes nothing."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.set_fault("pause", status=502, html="<html>Bad Gateway</html>", times=1)

    response = client.put(f"/endpoints/{uid}/pause")

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html>Bad Gateway</html>"
    assert fake.endpoint(uid)["status"] == "active"
    with pytest.raises(ValueError, match="with a status"):
        fake.set_fault("get", html="<html></html>")
    assert fake.contract_errors == []


def test_status_changed_behind_the_bots_back_shows_in_get(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """set_status changes what the next GET returns, like Convoy's circuit breaker would."""
    uid = fake.add_endpoint("orders")["uid"]

    fake.set_status(uid, "inactive")

    assert data(client.get(f"/endpoints/{uid}"))["status"] == "inactive"


def test_breaker_fields_show_in_the_list_only_and_a_deleted_endpoint_is_gone(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """The list carries the breaker's rate (a percentage) and state; a GET does not ask the
    breaker; a deleted endpoint is 404 and leaves the list."""
    uid = fake.add_endpoint("orders")["uid"]
    gone = fake.add_endpoint("old")["uid"]

    fake.set_breaker(uid, 62.5, "open")
    fake.delete_endpoint(gone)

    (listed,) = data(client.get("/endpoints"))["content"]
    assert (listed["uid"], listed["failure_rate"], listed["cb_state"]) == (uid, 62.5, "open")
    fetched = data(client.get(f"/endpoints/{uid}"))
    assert (fetched["failure_rate"], fetched["cb_state"]) == (None, None)
    assert client.get(f"/endpoints/{gone}").status_code == 404
    assert fake.contract_errors == []


def test_reset_forgets_endpoints_requests_faults_and_contract_errors(
    fake: FakeConvoy, client: httpx.Client, served: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """reset leaves the fake as new, with only its own project and key."""
    uid = fake.add_endpoint("orders")["uid"]
    fake.add_project(OTHER_PROJECT, OTHER_KEY)
    fake.set_fault("get", status=500)
    client.get("/nowhere")

    fake.reset()

    assert (fake.requests, fake.contract_errors) == ([], [])
    assert client.get(f"/endpoints/{uid}").status_code == 404
    with as_bearer(served, OTHER_KEY, OTHER_PROJECT) as other:
        assert other.get("/endpoints").status_code == 401
    with pytest.raises(ValueError, match="unknown project"):
        fake.add_endpoint("orders", project=OTHER_PROJECT)


# third_party/convoy/SOURCE.md: the blob of docs/v3/openapi3.yaml at Convoy's commit 2b60cc6.
VENDORED_SPEC_SHA256 = "b7e1d427eb15ecb1256526eedf9aff1f1205dd9e25e9d9975efad5b29911bd3f"


def test_the_vendored_spec_is_convoys_file_unchanged() -> None:
    """The contract is Convoy's own document, byte for byte, as its SOURCE.md says."""
    digest = hashlib.sha256(VENDORED_SPEC.read_bytes()).hexdigest()

    assert digest == VENDORED_SPEC_SHA256
    assert (VENDORED_SPEC.parent / "LICENSE-convoy-ELv2.txt").is_file()


def test_validator_reports_a_response_that_breaks_the_spec() -> None:
    """The contract check is real: a wrong status enum or envelope type is reported."""
    request = ContractRequest(
        "GET", f"/api/v1/projects/{PROJECT}/endpoints/01X", headers={"Authorization": "Bearer k"}
    )
    bad_status = {"status": True, "message": "ok", "data": {"uid": "01X", "status": "frozen"}}
    bad_envelope = {"status": "yes", "message": "ok"}

    errors = response_errors(request, ContractResponse(200, json.dumps(bad_status).encode(), JSON))
    envelope_errors = response_errors(
        request, ContractResponse(200, json.dumps(bad_envelope).encode(), JSON)
    )

    assert request_errors(request) == []
    assert any("/data/status" in e and "frozen" in e for e in errors)
    assert any("/status" in e and "boolean" in e for e in envelope_errors)


def test_validator_accepts_null_optional_objects_but_not_wrong_types() -> None:
    """The nullable-allOf workaround admits null where Convoy sends it and nothing looser."""
    request = ContractRequest(
        "GET", f"/api/v1/projects/{PROJECT}/endpoints/01X", headers={"Authorization": "Bearer k"}
    )

    def errors_for(authentication: Any) -> list[str]:
        body = {"status": True, "message": "ok", "data": {"authentication": authentication}}
        return response_errors(request, ContractResponse(200, json.dumps(body).encode(), JSON))

    assert errors_for(None) == []
    assert errors_for({"type": "api_key", "basic_auth": None}) == []
    assert errors_for("api_key") != []
    assert errors_for({"type": "magic"}) != []


def test_a_request_the_spec_rejects_is_a_contract_error(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """A query parameter of the wrong type or value is recorded, naming it; valid ones are not."""
    client.get("/endpoints", params={"perPage": 5, "direction": "next"})
    client.get("/endpoints", params={"perPage": "many"})
    client.get("/endpoints", params={"direction": "sideways"})

    errors = fake.contract_errors

    assert len(errors) == 2, errors
    wrong_type, wrong_value = errors
    assert wrong_type.startswith("request GET /api/v1/projects/")
    assert "Query parameter error: perPage" in wrong_type
    assert "Failed to cast value to integer type: many" in wrong_type
    assert "Invalid query parameter: direction" in wrong_value
    assert "'sideways' is not one of ['next', 'prev']" in wrong_value


# --- event deliveries ---------------------------------------------------------------------------

NOON = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def go_date(moment: datetime) -> str:
    """Convoy's query layout, Go's 2006-01-02T15:04:05 (UTC, no zone)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def window(start: datetime, end: datetime) -> dict[str, str]:
    return {"startDate": go_date(start), "endDate": go_date(end)}


def test_deliveries_filter_by_endpoint_status_and_inclusive_date_window(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """endpointId+status+[startDate, endDate] select deliveries newest first, both bounds kept."""
    a, b = fake.add_endpoint("orders")["uid"], fake.add_endpoint("billing")["uid"]
    one_hour = timedelta(hours=1)
    at_start = fake.add_event_delivery(a, created_at=NOON)["uid"]
    inside = fake.add_event_delivery(a, created_at=NOON + one_hour / 2)["uid"]
    at_end = fake.add_event_delivery(a, created_at=NOON + one_hour)["uid"]
    # Convoy compares with whole seconds (`.Unix()`), so half a second past endDate is out.
    fake.add_event_delivery(a, created_at=NOON + one_hour + timedelta(milliseconds=500))
    fake.add_event_delivery(a, created_at=NOON - timedelta(seconds=1))
    fake.add_event_delivery(a, status="Success", created_at=NOON + one_hour / 2)
    fake.add_event_delivery(b, created_at=NOON + one_hour / 2)

    response = client.get(
        "/eventdeliveries",
        params={"endpointId": a, "status": "Discarded", **window(NOON, NOON + one_hour)},
    )

    assert response.status_code == 200
    page = data(response)
    assert [d["uid"] for d in page["content"]] == [at_end, inside, at_start]
    assert {(d["endpoint_id"], d["status"]) for d in page["content"]} == {(a, "Discarded")}
    assert page["content"][0]["endpoint_metadata"]["name"] == "orders"
    assert page["pagination"]["has_next_page"] is False
    assert fake.requests[-1].operation == "deliveries"
    assert fake.contract_errors == []


def test_deliveries_page_45_newest_first_with_a_cursor_on_the_last_page(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """45 deliveries at perPage=20 come as 20+20+5, newest first, like the endpoint list."""
    uid = fake.add_endpoint("orders")["uid"]
    added = [
        fake.add_event_delivery(uid, created_at=NOON + timedelta(seconds=n))["uid"]
        for n in range(45)
    ]
    params: dict[str, str | int] = {
        "endpointId": uid,
        "perPage": 20,
        **window(NOON, NOON + timedelta(minutes=1)),
    }
    pages = []
    for _ in range(3):
        page = data(client.get("/eventdeliveries", params=params))
        pages.append(page)
        params = {
            **params,
            "direction": "next",
            "next_page_cursor": page["pagination"]["next_page_cursor"],
        }

    assert [len(p["content"]) for p in pages] == [20, 20, 5]
    assert [p["pagination"]["has_next_page"] for p in pages] == [True, True, False]
    assert [p["pagination"]["has_prev_page"] for p in pages] == [False, True, True]
    assert pages[-1]["pagination"]["next_page_cursor"] != ""
    assert [d["uid"] for p in pages for d in p["content"]] == list(reversed(added))
    assert fake.contract_errors == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"startDate": "2025-03-10T12:00:00Z"},
            "please specify a startDate in the format 2006-01-02T15:04:05",
        ),
        (
            {"startDate": "2025-03-10"},
            "please specify a startDate in the format 2006-01-02T15:04:05",
        ),
        (
            {"endDate": "2025-02-30T12:00:00"},
            "please specify a correct endDate in the format 2006-01-02T15:04:05 or none at all",
        ),
        (
            {"startDate": "2025-03-10T12:00:01", "endDate": "2025-03-10T12:00:00"},
            "startDate cannot be greater than endDate",
        ),
    ],
)
def test_bad_dates_are_400_with_convoys_message_for_list_and_batchretry(
    fake: FakeConvoy, client: httpx.Client, params: dict[str, str], message: str
) -> None:
    """A date not in Go's layout (a zone, no time, no such day) or a reversed window is a 400."""
    uid = fake.add_endpoint("orders")["uid"]
    delivery = fake.add_event_delivery(uid, created_at=NOON)

    listed = client.get("/eventdeliveries", params=params)
    retried = client.post("/eventdeliveries/batchretry", params=params)

    assert (listed.status_code, retried.status_code) == (400, 400)
    assert error_message(listed) == error_message(retried) == message
    assert fake.event_deliveries() == [delivery]
    assert fake.contract_errors == []


def test_batchretry_schedules_exactly_the_matching_deliveries(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """POST /batchretry sets matching deliveries to Scheduled with a newer updated_at, no others."""
    a, b = fake.add_endpoint("orders")["uid"], fake.add_endpoint("billing")["uid"]
    matching = {
        fake.add_event_delivery(a, created_at=NOON)["uid"],
        fake.add_event_delivery(a, created_at=NOON + timedelta(minutes=5))["uid"],
    }
    fake.add_event_delivery(a, created_at=NOON - timedelta(days=1))
    fake.add_event_delivery(a, status="Failure", created_at=NOON)
    fake.add_event_delivery(b, created_at=NOON)
    before = {d["uid"]: d for d in fake.event_deliveries()}

    response = client.post(
        "/eventdeliveries/batchretry",
        params={"endpointId": a, "status": "Discarded", **window(NOON, NOON + timedelta(hours=1))},
    )

    assert response.status_code == 200
    assert response.json() == {"status": True, "message": "Batch retry processing", "data": None}
    after = {d["uid"]: d for d in fake.event_deliveries()}
    for uid, delivery in after.items():
        if uid in matching:
            assert delivery["status"] == "Scheduled"
            assert delivery["updated_at"] > before[uid]["updated_at"]
        else:
            assert delivery == before[uid]
    assert fake.requests[-1].operation == "batchretry"
    assert fake.contract_errors == []


def test_repeated_endpoint_id_and_status_params_each_widen_the_filter(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """endpointId=a&endpointId=b and status=X&status=Y match any of the values given."""
    a, b, c = (fake.add_endpoint(name)["uid"] for name in ("orders", "billing", "search"))
    wanted = set()
    for uid in (a, b, c):
        for status in ("Discarded", "Failure", "Success"):
            added = fake.add_event_delivery(uid, status=status, created_at=NOON)
            if uid in {a, b} and status in {"Discarded", "Failure"}:
                wanted.add(added["uid"])
    params = [
        ("endpointId", a),
        ("endpointId", b),
        ("status", "Discarded"),
        ("status", "Failure"),
        *window(NOON, NOON).items(),
    ]

    page = data(client.get("/eventdeliveries", params=params))
    retried = client.post("/eventdeliveries/batchretry", params=params)

    assert {d["uid"] for d in page["content"]} == wanted
    assert fake.requests[0].query["endpointId"] == [a, b]
    assert fake.requests[0].query["status"] == ["Discarded", "Failure"]
    assert retried.status_code == 200
    scheduled = {d["uid"] for d in fake.event_deliveries() if d["status"] == "Scheduled"}
    assert scheduled == wanted
    assert fake.contract_errors == []


def test_without_start_date_convoy_looks_back_seven_days_not_to_the_epoch(
    fake: FakeConvoy, client: httpx.Client
) -> None:
    """No startDate means midnight seven days ago (today's Convoy), so older deliveries hide."""
    uid = fake.add_endpoint("orders")["uid"]
    now = datetime.now(UTC)
    recent = fake.add_event_delivery(uid, created_at=now - timedelta(days=2))["uid"]
    old = fake.add_event_delivery(uid, created_at=now - timedelta(days=9))["uid"]

    defaulted = data(client.get("/eventdeliveries", params={"endpointId": uid}))
    explicit = data(
        client.get(
            "/eventdeliveries",
            params={"endpointId": uid, "startDate": go_date(now - timedelta(days=10))},
        )
    )

    assert [d["uid"] for d in defaulted["content"]] == [recent]
    assert [d["uid"] for d in explicit["content"]] == [recent, old]
    assert fake.contract_errors == []


def test_delivery_faults_reset_and_test_facing_api(fake: FakeConvoy, client: httpx.Client) -> None:
    """Faults apply to the delivery operations and change nothing; reset forgets deliveries."""
    uid = fake.add_endpoint("orders")["uid"]
    delivery = fake.add_event_delivery(uid, created_at=NOON, uid="01DELIVERYFAKE00000000000A")
    fake.set_fault("deliveries", status=503, times=1)
    fake.set_fault("batchretry", status=429, retry_after=3, times=1)

    listed = client.get("/eventdeliveries", params=window(NOON, NOON))
    retried = client.post("/eventdeliveries/batchretry", params=window(NOON, NOON))

    assert (listed.status_code, retried.status_code) == (503, 429)
    assert fake.event_deliveries(uid) == [delivery]
    assert delivery["uid"] == "01DELIVERYFAKE00000000000A"
    assert (delivery["status"], delivery["created_at"]) == (
        "Discarded",
        "2025-03-10T12:00:00.000000Z",
    )
    assert fake.event_deliveries("01OTHERENDPOINT0000000000") == []
    with pytest.raises(ValueError, match="status must be one of"):
        fake.add_event_delivery(uid, status="discarded")
    fake.reset()
    assert fake.event_deliveries() == []


def test_validator_checks_every_delivery_in_a_list_response() -> None:
    """The contract check reaches list items: a status outside EventDeliveryStatus is reported."""
    request = ContractRequest(
        "GET", f"/api/v1/projects/{PROJECT}/eventdeliveries", headers={"Authorization": "Bearer k"}
    )

    def errors_for(status: str) -> list[str]:
        body = {
            "status": True,
            "message": "ok",
            "data": {"content": [{"uid": "01X", "status": status}], "pagination": None},
        }
        return response_errors(request, ContractResponse(200, json.dumps(body).encode(), JSON))

    assert errors_for("Discarded") == []
    assert any("/data/content/0/status" in e for e in errors_for("discarded"))


# --- projects, project API keys and personal access tokens ----------------------------------

OTHER_PROJECT = "01PROJECTOTHER00000000000B"
OTHER_KEY = "CO.other-project-key"
PERSONAL_TOKEN = "CO.personal-access-token"
UNKNOWN_PROJECT = "01PROJECTNOBODY0000000000C"


def as_bearer(served: tuple[FakeConvoy, LoopbackServer], token: str, project: str) -> httpx.Client:
    """A client that names `project` in its paths and sends `token`."""
    return httpx.Client(
        base_url=f"{served[1].url}/api/v1/projects/{project}",
        headers={"Authorization": f"Bearer {token}", "X-Convoy-Version": VERSION},
        timeout=5.0,
    )


def test_a_project_key_acts_on_its_own_project_whatever_the_path_names(
    fake: FakeConvoy, served: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """The default key, whatever project the path names, reads and writes its own project."""
    fake.add_project(OTHER_PROJECT, OTHER_KEY)
    mine = fake.add_endpoint("orders")["uid"]
    theirs = fake.add_endpoint("billing", project=OTHER_PROJECT)["uid"]

    with as_bearer(served, API_KEY, OTHER_PROJECT) as wrong_path:
        listed = data(wrong_path.get("/endpoints"))
        fetched = data(wrong_path.get(f"/endpoints/{mine}"))
        paused = data(wrong_path.put(f"/endpoints/{mine}/pause"))
        not_mine = wrong_path.get(f"/endpoints/{theirs}")
        not_mine_toggle = wrong_path.put(f"/endpoints/{theirs}/pause")
    with as_bearer(served, API_KEY, UNKNOWN_PROJECT) as no_such_project:
        unknown_path = data(no_such_project.get("/endpoints"))

    assert [e["uid"] for e in listed["content"]] == [mine]
    assert (fetched["project_id"], paused["project_id"]) == (PROJECT, PROJECT)
    assert fake.endpoint(mine)["status"] == "paused"
    assert (not_mine.status_code, error_message(not_mine)) == (404, "Resource not found")
    assert not_mine_toggle.status_code == 400
    assert error_message(not_mine_toggle) == "failed to find endpoint"
    assert fake.endpoint(theirs)["status"] == "active"
    assert [e["uid"] for e in unknown_path["content"]] == [mine]
    assert {r.project for r in fake.requests} == {PROJECT}
    assert fake.contract_errors == []


def test_each_project_key_sees_only_its_own_endpoints_and_deliveries(
    fake: FakeConvoy, served: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """Another project's key lists, retries and toggles only what belongs to that project."""
    fake.add_project(OTHER_PROJECT, OTHER_KEY)
    mine = fake.add_endpoint("orders")["uid"]
    theirs = fake.add_endpoint("orders", project=OTHER_PROJECT)["uid"]
    my_delivery = fake.add_event_delivery(mine, created_at=NOON)
    their_delivery = fake.add_event_delivery(theirs, created_at=NOON)

    with as_bearer(served, OTHER_KEY, OTHER_PROJECT) as other:
        listed = data(other.get("/endpoints", params={"q": "orders"}))
        deliveries = data(other.get("/eventdeliveries", params=window(NOON, NOON)))
        retried = other.post("/eventdeliveries/batchretry", params=window(NOON, NOON))
        toggled = data(other.put(f"/endpoints/{theirs}/pause"))

    assert [e["uid"] for e in listed["content"]] == [theirs]
    assert listed["content"][0]["project_id"] == OTHER_PROJECT
    assert [d["uid"] for d in deliveries["content"]] == [their_delivery["uid"]]
    assert deliveries["content"][0]["project_id"] == OTHER_PROJECT
    assert retried.status_code == 200
    statuses = {d["uid"]: d["status"] for d in fake.event_deliveries()}
    assert statuses == {their_delivery["uid"]: "Scheduled", my_delivery["uid"]: "Discarded"}
    assert toggled["status"] == "paused"
    assert fake.endpoint(mine)["status"] == "active"
    assert {r.project for r in fake.requests} == {OTHER_PROJECT}
    assert fake.contract_errors == []


def test_a_personal_access_token_acts_on_the_project_in_the_path(
    fake: FakeConvoy, served: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """A personal access token reads whichever known project the path names; unknown is a 400."""
    fake.add_project(OTHER_PROJECT)
    fake.add_personal_access_token(PERSONAL_TOKEN)
    mine = fake.add_endpoint("orders")["uid"]
    theirs = fake.add_endpoint("billing", project=OTHER_PROJECT)["uid"]

    with as_bearer(served, PERSONAL_TOKEN, PROJECT) as first:
        in_first = data(first.get("/endpoints"))
    with as_bearer(served, PERSONAL_TOKEN, OTHER_PROJECT) as second:
        in_second = data(second.get("/endpoints"))
        paused = data(second.put(f"/endpoints/{theirs}/pause"))
    with as_bearer(served, PERSONAL_TOKEN, UNKNOWN_PROJECT) as nowhere:
        unknown = nowhere.get("/endpoints")
        unknown_write = nowhere.put(f"/endpoints/{theirs}/pause")

    assert [e["uid"] for e in in_first["content"]] == [mine]
    assert [e["uid"] for e in in_second["content"]] == [theirs]
    assert (paused["uid"], paused["status"]) == (theirs, "paused")
    assert (unknown.status_code, error_message(unknown)) == (400, "project not found")
    assert (unknown_write.status_code, error_message(unknown_write)) == (400, "project not found")
    assert fake.endpoint(theirs)["status"] == "paused"
    assert [r.project for r in fake.requests] == [PROJECT, OTHER_PROJECT, OTHER_PROJECT, None, None]
    assert fake.contract_errors == []


def test_a_key_of_no_project_is_401_even_with_a_known_project_in_the_path(
    fake: FakeConvoy, served: tuple[FakeConvoy, LoopbackServer]
) -> None:
    """Only keys the fake was given open anything; a made-up one is refused in every project."""
    fake.add_project(OTHER_PROJECT, OTHER_KEY)

    with as_bearer(served, "CO.made-up", OTHER_PROJECT) as stranger:
        refused = stranger.get("/endpoints")

    assert (refused.status_code, error_message(refused)) == (401, "authorization failed")
    assert fake.requests[0].project is None
    with pytest.raises(ValueError, match="another project"):
        fake.add_project("01PROJECTTHIRD00000000000D", OTHER_KEY)
    with pytest.raises(ValueError, match="unknown project"):
        fake.add_endpoint("orders", project=UNKNOWN_PROJECT)
