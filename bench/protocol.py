"""The JSON lines the orchestrator and the load generator exchange, and the keys that join them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LoadJob(BaseModel):
    """One run for the load generator: what to send, to whom, and at what pace."""

    mode: Literal["rate", "closed", "burst"]
    targets: list[str]  # bot base URLs; request i goes to targets[i % len(targets)]
    texts: list[str]  # the `/convoy` text of request i; its length caps the run
    users: list[str]  # the Slack user id of request i
    run_id: str
    signing_secret: str
    slack_url: str  # the fake Slack, where each request's response_url points
    rate: float = 0.0  # requests per second ("rate")
    duration: float = 0.0  # seconds ("rate" and "closed")
    concurrency: int = Field(default=1, ge=1)  # requests in flight ("closed")
    busy_backoff: float = 0.0  # "closed": seconds a sender refused as busy waits to go on


class Sent(BaseModel):
    """One request: when it was due, sent and answered (time.monotonic seconds)."""

    index: int
    scheduled: float
    sent: float
    done: float
    status: int  # the HTTP status; 0 when no response came back
    error: str = ""
    busy: bool = False  # acknowledged with the bot's "busy" refusal: nothing was taken on


class LoadResult(BaseModel):
    """Everything the load generator saw during one job."""

    started: float
    outcomes: list[Sent]


BUSY_MARK = b"is busy right now"  # in the ack of a command the bot refused as too busy


def request_key(run_id: str, index: int) -> str:
    """The response-URL token of request `index`; the fakes record receipts under it."""
    return f"{run_id}-{index}"


def channel_for(key: str) -> str:
    """Each request names its own channel, so a chat.postMessage tells which command it ends."""
    return f"C{key}"
