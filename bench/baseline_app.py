"""The baseline: a bare Bolt AsyncApp whose `/convoy` listener only acks, on the bot's server stack.

Same stack as `python -m bot serve`: Starlette routes run by uvicorn with the bot's uvicorn
options, Bolt's signing verification, `process_before_response=True`, and an AsyncWebClient
pointed at SLACK_API_URL (Bolt calls auth.test once). It reads the bot's variables
(SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL, HOST, PORT, LOG_LEVEL), so the benchmark
starts it with the bot's environment. Run as `python -m bench.baseline_app`.
"""

from __future__ import annotations

import asyncio
import logging
import os

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def create_baseline(signing_secret: str, bot_token: str, slack_api_url: str) -> Starlette:
    """A Starlette app serving a Bolt app that acks `/convoy` and does nothing else."""
    app = AsyncApp(
        client=AsyncWebClient(token=bot_token, base_url=slack_api_url, timeout=10),
        signing_secret=signing_secret,
        process_before_response=True,
        logger=logging.getLogger("slack_bolt"),
    )

    async def ack_only(ack: AsyncAck) -> None:
        await ack()

    app.command("/convoy")(ack_only)
    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def main() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO")
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("slack_sdk", "slack_bolt", "aiohttp"):  # as the bot's configure_logging does
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    app = create_baseline(
        os.environ["SLACK_SIGNING_SECRET"],
        os.environ["SLACK_BOT_TOKEN"],
        os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    config = uvicorn.Config(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "3000")),
        log_level=level.lower(),
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
