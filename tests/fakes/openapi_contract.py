"""Checking HTTP requests and responses against Convoy's own OpenAPI spec with openapi-core."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import ParameterValidationError
from starlette.datastructures import Headers, QueryParams

# Convoy's own spec, vendored into the repository (see its SOURCE.md), so that a clone alone
# passes the tests; the variable lets a check against a newer spec point elsewhere.
VENDORED_SPEC = Path(__file__).resolve().parents[2] / "third_party" / "convoy" / "openapi3.yaml"
SPEC_PATH = Path(os.environ.get("CONVOY_OPENAPI_SPEC", VENDORED_SPEC))

# The spec's servers are https://{us,eu}.getconvoy.cloud/api. openapi-core matches a request's full
# URL against them, so requests are checked as if sent to the first server: the fake serves the
# same /api/... paths, and only the scheme and host differ. The spec itself stays untouched.
SPEC_HOST_URL = "https://us.getconvoy.cloud"


@dataclass(frozen=True)
class ContractRequest:
    """An HTTP request as seen on the wire; `path` includes the /api prefix."""

    method: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class ContractResponse:
    """An HTTP response as sent on the wire."""

    status_code: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class _OpenAPIRequest:
    """Adapter to openapi-core's Request protocol."""

    def __init__(self, request: ContractRequest) -> None:
        self.host_url = SPEC_HOST_URL
        self.path = request.path
        self.method = request.method.lower()
        self.body: bytes | None = request.body or None
        headers = Headers(headers=dict(request.headers))
        self.content_type = headers.get("content-type", "")
        # Starlette's Headers match names case-insensitively, as HTTP does and as openapi-core's
        # bearer check (`"Authorization" in header`) needs; QueryParams supports getlist.
        self.parameters = RequestParameters(query=QueryParams(list(request.query)), header=headers)


class _OpenAPIResponse:
    """Adapter to openapi-core's Response protocol."""

    def __init__(self, response: ContractResponse) -> None:
        self.status_code = response.status_code
        self.data: bytes | None = response.body
        self.headers = Headers(headers=dict(response.headers))
        self.content_type = self.headers.get("content-type", "application/octet-stream")


def _inline_nullable_refs(node: Any, schemas: Mapping[str, Any]) -> Any:
    """Copy of `node` where `{allOf: [{$ref: X}], nullable: true}` becomes X's own body + nullable.

    Convoy's generator (swaggo) writes every optional struct pointer this way, and Convoy sends
    `null` there (e.g. `authentication`, `mtls_client_cert`, `oauth2.signing_key`). Under OAS
    3.0.3, which openapi-schema-validator follows to the letter, `nullable` without `type` in the
    same object means nothing and the referenced object schema rejects null, so real responses
    would fail. Inlining the one referenced schema keeps every other constraint and makes null
    legal exactly where the spec's author said so. Nothing else in the spec is touched.
    """
    if isinstance(node, list):
        return [_inline_nullable_refs(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _inline_nullable_refs(value, schemas) for key, value in node.items()}
    all_of = node.get("allOf")
    if (
        node.get("nullable") is True
        and "type" not in node
        and isinstance(all_of, list)
        and len(all_of) == 1
        and isinstance(all_of[0], dict)
        and set(all_of[0]) == {"$ref"}
        and str(all_of[0]["$ref"]).startswith("#/components/schemas/")
    ):
        target = schemas[str(all_of[0]["$ref"]).removeprefix("#/components/schemas/")]
        if isinstance(target, dict) and "type" in target:
            del converted["allOf"]
            return {**_inline_nullable_refs(target, schemas), **converted}
    return converted


def load_spec_dict(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The spec as a dict, with the one workaround above applied."""
    # libyaml's loader reads the 275 kB spec ten times faster than the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506  # a safe loader
    schemas = spec["components"]["schemas"]
    patched: dict[str, Any] = _inline_nullable_refs(spec, schemas)
    return patched


@functools.cache
def convoy_openapi() -> OpenAPI:
    """Convoy's spec, parsed and checked once per process (it takes about half a second)."""
    return OpenAPI.from_dict(load_spec_dict())


def _describe(error: BaseException) -> str:
    """One line per openapi-core error, down to the failing JSON path and schema message.

    Schema failures are named by path and rule only: openapi-core's own text repeats the whole
    body, which for an endpoint means its secrets.
    """
    parts: list[str] = []
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    schema_errors = [e for link in chain for e in getattr(link, "schema_errors", None) or ()]
    if schema_errors:
        # A parameter error's own text names the parameter ("Invalid query parameter: perPage")
        # and never its value; other errors' text would repeat the whole body.
        parts.append(
            str(error) if isinstance(error, ParameterValidationError) else type(error).__name__
        )
        parts.extend(_schema_error_line(schema_error) for schema_error in schema_errors)
    else:
        for link in chain:
            text = str(link) or type(link).__name__
            if not any(text in part for part in parts):
                parts.append(text)
    return "; ".join(parts)


def _schema_error_line(schema_error: Any) -> str:
    location = "/".join(str(step) for step in getattr(schema_error, "absolute_path", ()))
    return f"at /{location}: {getattr(schema_error, 'message', schema_error)}"


def request_errors(request: ContractRequest) -> list[str]:
    """What is wrong with `request` according to the spec (empty when it conforms)."""
    openapi_request = _OpenAPIRequest(request)
    return [_describe(error) for error in convoy_openapi().iter_request_errors(openapi_request)]


def response_errors(request: ContractRequest, response: ContractResponse) -> list[str]:
    """What is wrong with `response` to `request` according to the spec (empty when it conforms).

    A request whose path or method the spec lacks has no response to check; that is reported
    once, by `request_errors`, so it is not repeated here.
    """
    openapi_request = _OpenAPIRequest(request)
    errors = convoy_openapi().iter_response_errors(openapi_request, _OpenAPIResponse(response))
    return [_describe(error) for error in errors if not isinstance(error, PathError)]
