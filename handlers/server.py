"""The HTTP surface: Slack's events endpoint, health, readiness and metrics."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_bolt.request.async_internals import build_async_context
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

MAX_BODY_BYTES = 64 * 1024  # Slack's payloads are far smaller; anything bigger is abuse


def parse_form_body(raw: str) -> dict[str, Any]:
    """A form body as Slack means it: a JSON `payload` field for interactions, else the fields.

    Bolt's own parser treats any body containing the letters "payload" as an interaction, so a
    slash command such as `/convoy pause orders-api bad payloads` would reach no listener.
    """
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if set(fields) == {"payload"}:
        loaded = json.loads(fields["payload"])
        if not isinstance(loaded, dict):
            raise ValueError("payload is not a JSON object")
        view = loaded.get("view")
        if view is not None and not (isinstance(view, dict) and isinstance(view.get("type"), str)):
            # Slack's views always have a type; Bolt's matchers fail (HTTP 500) without one.
            raise ValueError("payload's view is not a view")
        return loaded
    return fields


class MalformedBody(ValueError):
    """The body is not what Slack sends: not UTF-8, or a `payload` that is not a JSON object."""


def read_body(raw: bytes) -> tuple[str, dict[str, Any] | None]:
    """The body as text, and its fields when it is a form (None for JSON, Slack's events);
    MalformedBody if unreadable."""
    try:
        text = raw.decode("utf-8")
        return text, None if text.startswith("{") else parse_form_body(text)
    except ValueError as exc:
        raise MalformedBody(str(exc)) from exc


def bolt_request(request: Request, text: str, fields: dict[str, Any] | None) -> AsyncBoltRequest:
    """Bolt's request, with the fields `read_body` parsed."""
    bolt = AsyncBoltRequest(
        body=text, query=dict(request.query_params), headers=dict(request.headers)
    )
    if fields is not None:
        bolt.body = fields
        # The context (user, channel, response_url) is derived from the body: derive it again.
        bolt.context = build_async_context(AsyncBoltContext({}), bolt.body)
    return bolt


def _get_request(request: Request) -> AsyncBoltRequest:
    """A GET of the OAuth flow, as Bolt reads it: its query and headers (the state cookie)."""
    return AsyncBoltRequest(body="", query=request.url.query, headers=dict(request.headers))


# Given a signed request's form fields: the ack that turns it away at once, or None.
TurnAway = Callable[[dict[str, Any]], dict[str, str] | None]


def create_server(
    app: AsyncApp,
    signing_secret: str,
    readiness: Callable[[], Awaitable[dict[str, str]]],
    status: Callable[[], Awaitable[dict[str, object]]],
    metrics_page: Callable[[], Awaitable[bytes]],
    *,
    turn_away: TurnAway = lambda _: None,
) -> Starlette:
    """Slack's events endpoint (HTTP mode only), health, readiness, status and metrics.

    `turn_away` answers a signed request before Bolt sees it: a command the bot is too busy to
    take on costs the least there, and refusals are most of what an overloaded bot answers."""
    # None in Socket Mode, where there is no secret and no events route (below).
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def slack_events(request: Request) -> Response:
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return PlainTextResponse("request body too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("request body too large", status_code=413)
        # The one signature check (Bolt's own is off): before retries are skipped or bodies
        # parsed, so nothing unsigned is acted on or even looked at.
        if verifier is None or not verifier.is_valid_request(body, dict(request.headers)):
            return PlainTextResponse("invalid signature", status_code=401)
        if "x-slack-retry-num" in request.headers:
            # Slack resends when our ack was slow; the first delivery is already being handled
            # (and every button is claimed once anyway), so a genuine retry is only acknowledged.
            return PlainTextResponse("", status_code=200)
        try:
            text, fields = read_body(body)
        except MalformedBody:
            return PlainTextResponse("malformed request body", status_code=400)
        if fields is not None and (refusal := turn_away(fields)) is not None:
            return JSONResponse(refusal)
        return to_starlette_response(await app.async_dispatch(bolt_request(request, text, fields)))

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        checks = await readiness()
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(checks, status_code=200 if ready else 503)

    async def status_report(_: Request) -> Response:
        return JSONResponse(await status())

    async def prometheus(_: Request) -> Response:
        page = await metrics_page()
        return Response(page, media_type="text/plain; version=0.0.4; charset=utf-8")

    # In Socket Mode (no signing secret) Slack's requests come over the websocket: an events
    # route there would check signatures against an empty secret, which anyone can forge.
    events = [Route("/slack/events", slack_events, methods=["POST"])] if signing_secret else []
    flow = app.oauth_flow
    if flow is not None:
        # Installing in a workspace: sent to Slack's consent page, and back with a code.
        async def install(request: Request) -> Response:
            return to_starlette_response(await flow.handle_installation(_get_request(request)))

        async def oauth_redirect(request: Request) -> Response:
            return to_starlette_response(await flow.handle_callback(_get_request(request)))

        events += [
            Route(flow.install_path, install, methods=["GET"]),
            Route(flow.redirect_uri_path, oauth_redirect, methods=["GET"]),
        ]
    return Starlette(
        routes=[
            *events,
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/status", status_report, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ]
    )
