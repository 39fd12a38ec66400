"""The connection pool under the bot's httpx clients (Convoy, endpoints' webhooks).

httpx's own pool (httpcore) checks every pooled connection's socket, and scans its waiting
requests, on each request: under load that cost grows with the pool, and the profiler found it
the largest single cost of a pause (about 2 ms of CPU per request at 64 in flight, against
0.5 ms over aiohttp's pool; BENCHMARKS.md). `httpx-aiohttp` keeps httpx's API, its timeouts
and its refusal to follow redirects (both decided by httpx's client, not the transport), and
sends over aiohttp, which the Slack SDK already uses.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class _Transport(AiohttpTransport):
    """httpx-aiohttp, with aiohttp's failures told apart as httpx tells them: it reports a
    refused connection as a connect *timeout* (so a user would hear "did not answer in time"
    for a Convoy that is not listening), and its errors carry no request (so a log line could
    not name the host)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.TransportError as exc:
            cause = exc.__cause__
            if isinstance(cause, aiohttp.ServerTimeoutError):
                raise httpx.TimeoutException(str(exc), request=request) from cause
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(exc), request=request) from cause
            if isinstance(cause, aiohttp.ClientError):
                raise httpx.RemoteProtocolError(str(exc), request=request) from cause
            raise


def pooled_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """A transport over one aiohttp session, made in the running loop at the first request
    and closed with the client."""
    return _Transport(limits=limits)
