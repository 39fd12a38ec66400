"""The load generator: its own process, sending signed slash commands to the bot as told on stdin.

Each line on stdin is a `LoadJob`; the answer is one `LoadResult` line on stdout. Requests are
built and signed (tests/slack_requests.py) before the clock starts, so the timed loop only sends.
Modes:

- `rate`: open loop. Request i is due at t0 + i/rate whether or not earlier ones were answered,
  and its latency counts from when it was due, so a stalled bot cannot hide its stall by slowing
  the generator down (no coordinated omission).
- `closed`: `concurrency` requests in flight for `duration` seconds: the saturation throughput.
  A sender whose ack said the bot is busy waits `BUSY_BACKOFF` before its next request, as a
  person told "try again in a moment" does; without it the refusals alone would saturate the
  bot and the run would measure how fast it says no.
- `burst`: every request at once.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from dataclasses import dataclass
from itertools import count

import aiohttp

from bench.protocol import BUSY_MARK, LoadJob, LoadResult, Sent, channel_for, request_key
from tests.slack_requests import SlackSender, slack_signature

START_DELAY = 0.05  # seconds between building the schedule and the first request
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Prepared:
    """One signed request, ready to go."""

    url: str
    body: bytes
    headers: dict[str, str]


def prepare(job: LoadJob) -> list[Prepared]:
    """Build and sign every request of the job exactly as Slack would send it."""
    builder = SlackSender("", job.signing_secret, job.slack_url)
    builder.http.close()  # only its body builder is used
    stamp = str(int(time.time()))
    prepared: list[Prepared] = []
    for index, text in enumerate(job.texts):
        key = request_key(job.run_id, index)
        body = builder.command_body(job.users[index], text, channel_for(key), key)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(job.signing_secret, stamp, body),
        }
        target = job.targets[index % len(job.targets)]
        prepared.append(Prepared(f"{target}/slack/events", body, headers))
    return prepared


class Runner:
    """Sends prepared requests over one connection pool and records what happened."""

    def __init__(self, session: aiohttp.ClientSession, requests: list[Prepared]) -> None:
        self.session = session
        self.requests = requests
        self.outcomes: list[Sent] = []

    async def fire(self, index: int, scheduled: float) -> Sent:
        request = self.requests[index]
        sent = time.monotonic()
        status, error, busy = 0, "", False
        try:
            async with self.session.post(
                request.url, data=request.body, headers=request.headers
            ) as response:
                busy = BUSY_MARK in await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = type(exc).__name__
        outcome = Sent(
            index=index,
            scheduled=scheduled,
            sent=sent,
            done=time.monotonic(),
            status=status,
            error=error,
            busy=busy,
        )
        self.outcomes.append(outcome)
        return outcome

    async def at_rate(self, rate: float, duration: float, t0: float) -> None:
        total = min(len(self.requests), int(rate * duration))
        tasks: list[asyncio.Task[Sent]] = []
        for index in range(total):
            due = t0 + index / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(self.fire(index, due)))
        await asyncio.gather(*tasks)

    async def closed_loop(
        self, concurrency: int, duration: float, t0: float, busy_backoff: float
    ) -> None:
        deadline = t0 + duration
        indexes = count()

        async def worker() -> None:
            while time.monotonic() < deadline:
                index = next(indexes)
                if index >= len(self.requests):
                    return
                if (await self.fire(index, time.monotonic())).busy and busy_backoff:
                    await asyncio.sleep(busy_backoff)

        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def burst(self, t0: float) -> None:
        await asyncio.sleep(max(0.0, t0 - time.monotonic()))
        await asyncio.gather(*(self.fire(index, t0) for index in range(len(self.requests))))


async def run_job(job: LoadJob) -> LoadResult:
    requests = prepare(job)
    in_flight = len(requests) if job.mode != "closed" else job.concurrency
    connector = aiohttp.TCPConnector(limit=max(in_flight, 1), limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        runner = Runner(session, requests)
        t0 = time.monotonic() + START_DELAY
        if job.mode == "rate":
            await runner.at_rate(job.rate, job.duration, t0)
        elif job.mode == "closed":
            await runner.closed_loop(job.concurrency, job.duration, t0, job.busy_backoff)
        else:
            await runner.burst(t0)
    return LoadResult(started=t0, outcomes=sorted(runner.outcomes, key=lambda o: o.index))


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        job = LoadJob.model_validate_json(line)
        # No collection while the load runs: a minute at ~1,000 requests a second keeps some
        # 60k requests and outcomes alive, and each full collection walked them all (about
        # every 10 s, ~150 ms), the generator's sends and reads late meanwhile, which counted
        # as the bot's ack time. A run's garbage is collected after it.
        gc.collect()
        gc.disable()
        try:
            result = asyncio.run(run_job(job))
        finally:
            gc.enable()
            gc.collect()
        sys.stdout.write(result.model_dump_json() + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
