"""One measured run: reset the fakes, send a load, wait for the work, check it, and sum it up."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Literal

import redis

from bench.processes import Fakes, LoadWorker, cpu_seconds
from bench.protocol import LoadJob, LoadResult, channel_for, request_key
from bench.stats import median, spread
from tests.harness import SIGNING_SECRET, BotProcess

Command = Literal["status", "pause", "mixed"]  # mixed: status and pause, alternating
NAN3 = (math.nan, math.nan, math.nan)
STALL_SECONDS = 5.0  # no new outcome for this long after the load: the rest is lost
FAILURE = (":x:", ":warning:", ":no_entry:")  # how the bot's private error replies begin
STATUS_ENDPOINTS = 200  # status commands cycle over this many endpoints


@dataclass(frozen=True)
class Target:
    """What the load goes to: one bot, two bots sharing the load, or the baseline."""

    name: str
    processes: tuple[BotProcess, ...]
    does_work: bool  # the bot works after its ack; the baseline only acks

    @property
    def urls(self) -> list[str]:
        return [p.url for p in self.processes]

    @property
    def pids(self) -> list[int]:
        return [p.process.pid for p in self.processes]


@dataclass(frozen=True)
class Shape:
    """How the load is sent: at a fixed rate, closed-loop at saturation, or all at once."""

    label: str
    mode: Literal["rate", "closed", "burst"]
    count: int  # the most requests the run may send
    rate: float = 0.0
    duration: float = 0.0
    concurrency: int = 1
    busy_backoff: float = 0.0  # closed loop: a sender refused as busy waits this long

    @classmethod
    def at_rate(cls, rate: float, duration: float) -> Shape:
        return cls(f"{rate:g}/s", "rate", round(rate * duration), rate=rate, duration=duration)

    @classmethod
    def saturation(
        cls, duration: float, concurrency: int, most: int, busy_backoff: float = 0.0
    ) -> Shape:
        return cls(
            "saturation",
            "closed",
            most,
            duration=duration,
            concurrency=concurrency,
            busy_backoff=busy_backoff,
        )

    @classmethod
    def burst(cls, size: int) -> Shape:
        return cls(f"burst of {size}", "burst", size)


@dataclass
class RunStats:
    """What one run (or, combined, several runs) showed."""

    runs: int = 1
    sent: int = 0
    acked: int = 0  # HTTP 200 from /slack/events
    busy: int = 0  # of those, acks refusing the command as the bot is too busy
    refused: Counter[str] = field(default_factory=Counter)  # other statuses, transport errors
    ack_ms: tuple[float, float, float] = NAN3
    # How late the load generator sent (from when due): its own delay, inside ack_ms.
    send_late_ms: tuple[float, float, float] = NAN3
    ack_rate: float = math.nan  # acks per second
    ack_wall: float = math.nan  # seconds from the first request due to the last ack
    sut_cpu: float = math.nan  # percent of one core used by the target during the load
    completed: int = 0  # commands whose work ended as it should (reply, or pause applied once)
    unsuccessful: int = 0  # work ended otherwise: a private error, or not paused exactly once
    lost: int = 0  # accepted commands that never reached Slack again
    refused_yet_acted: int = 0  # refused as busy in the ack, yet written or told about
    double_writes: int = 0  # endpoints that got more than one PUT /pause
    done_rate: float = math.nan  # completed commands per second, until the last one finished
    done_wall: float = math.nan  # seconds from the first request due to the last completion
    put_wall: float = math.nan  # seconds from the first request due to the last PUT received
    e2e_put_ms: tuple[float, float, float] = NAN3
    e2e_post_ms: tuple[float, float, float] = NAN3
    e2e_done_ms: tuple[float, float, float] = NAN3  # to the reply or post that ended it
    redis_per_command: dict[str, float] = field(default_factory=dict)
    convoy_per_command: dict[str, float] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)  # texts of unexpected replies

    @property
    def problems(self) -> int:
        return (
            sum(self.refused.values())
            + self.unsuccessful
            + self.lost
            + self.double_writes
            + self.refused_yet_acted
        )


def combine(runs: Sequence[RunStats]) -> RunStats:
    """Counts summed over the runs (nothing hidden), times and rates as the median run's."""

    def mid(values: Sequence[float]) -> float:
        return median(list(values))

    def mid3(values: Sequence[tuple[float, float, float]]) -> tuple[float, float, float]:
        return (
            mid([v[0] for v in values]),
            mid([v[1] for v in values]),
            mid([v[2] for v in values]),
        )

    def mid_dict(values: Sequence[dict[str, float]]) -> dict[str, float]:
        keys = sorted({k for v in values for k in v})
        return {k: mid([v.get(k, 0.0) for v in values]) for k in keys}

    refused: Counter[str] = Counter()
    for run in runs:
        refused.update(run.refused)
    return RunStats(
        runs=len(runs),
        sent=sum(r.sent for r in runs),
        acked=sum(r.acked for r in runs),
        busy=sum(r.busy for r in runs),
        refused_yet_acted=sum(r.refused_yet_acted for r in runs),
        refused=refused,
        ack_ms=mid3([r.ack_ms for r in runs]),
        send_late_ms=mid3([r.send_late_ms for r in runs]),
        ack_rate=mid([r.ack_rate for r in runs]),
        ack_wall=mid([r.ack_wall for r in runs]),
        sut_cpu=mid([r.sut_cpu for r in runs]),
        completed=sum(r.completed for r in runs),
        unsuccessful=sum(r.unsuccessful for r in runs),
        lost=sum(r.lost for r in runs),
        double_writes=sum(r.double_writes for r in runs),
        done_rate=mid([r.done_rate for r in runs]),
        done_wall=mid([r.done_wall for r in runs]),
        put_wall=mid([r.put_wall for r in runs]),
        e2e_put_ms=mid3([r.e2e_put_ms for r in runs]),
        e2e_post_ms=mid3([r.e2e_post_ms for r in runs]),
        e2e_done_ms=mid3([r.e2e_done_ms for r in runs]),
        redis_per_command=mid_dict([r.redis_per_command for r in runs]),
        convoy_per_command=mid_dict([r.convoy_per_command for r in runs]),
        examples=list(dict.fromkeys(e for r in runs for e in r.examples))[:5],
    )


def _ms(values: Sequence[float]) -> tuple[float, float, float]:
    p50, p95, p99 = spread(values)
    return p50 * 1000, p95 * 1000, p99 * 1000


class Harness:
    """The running fakes, load generator and Redis, and the runs made with them."""

    def __init__(
        self,
        fakes: Fakes,
        load: LoadWorker,
        store: redis.Redis | redis.RedisCluster,
        users: list[str],
    ) -> None:
        self.fakes = fakes
        self.load = load
        self.store = store
        self.users = users  # Slack user ids that hold the operator role
        self._run_ids = count(1)
        self._user_cursor = 0

    def redis_counters(self) -> tuple[Counter[str], int]:
        """Calls per Redis command and reply writes (round trips) so far, from one INFO.

        A pipeline is several commands but one read and one reply write, so
        `total_writes_processed` counts round trips. The harness's own INFO is taken out.
        """
        if isinstance(self.store, redis.RedisCluster):  # every master's INFO, summed
            by_node = self.store.info("everything", target_nodes=redis.RedisCluster.PRIMARIES)
            infos: list[dict[str, Any]] = list(by_node.values())
        else:
            infos = [self.store.info("everything")]
        calls: Counter[str] = Counter()
        for info in infos:
            calls.update(
                {
                    name.removeprefix("cmdstat_"): int(value["calls"])
                    for name, value in info.items()
                    if name.startswith("cmdstat_")
                }
            )
        del calls["info"]
        # The caller takes one INFO reply out; on a cluster each master wrote one.
        writes = sum(int(info["total_writes_processed"]) for info in infos) - (len(infos) - 1)
        return calls, writes

    def next_users(self, count: int) -> list[str]:
        """Operators for `count` requests, rotating over all of them from run to run.

        The bot may limit changes per user per minute; real pauses come from many people.
        """
        start = self._user_cursor
        self._user_cursor = (start + count) % len(self.users)
        return [self.users[(start + i) % len(self.users)] for i in range(count)]

    def run(
        self,
        target: Target,
        command: Command,
        shape: Shape,
        *,
        convoy_delay: float = 0.0,
        patience: float = 30.0,
    ) -> RunStats:
        """Send one load to the target; for a bot, wait until its work shows up, and check it."""
        run_id = f"r{next(self._run_ids)}"
        if target.does_work:
            wanted = shape.count if command != "status" else min(shape.count, STATUS_ENDPOINTS)
            uids = self.fakes.reset(wanted, convoy_delay)
        else:
            uids = [f"01HBENCH{i:018d}" for i in range(STATUS_ENDPOINTS)]
        verbs = ("status", "pause") if command == "mixed" else (command,)
        texts = [f"{verbs[i % len(verbs)]} {uids[i % len(uids)]}" for i in range(shape.count)]
        job = LoadJob(
            mode=shape.mode,
            targets=target.urls,
            texts=texts,
            run_id=run_id,
            users=self.next_users(shape.count),
            signing_secret=SIGNING_SECRET,
            slack_url=self.fakes.slack_url,
            rate=shape.rate,
            duration=shape.duration,
            concurrency=shape.concurrency,
            busy_backoff=shape.busy_backoff,
        )
        calls_before, trips_before = self.redis_counters()
        cpu_before, clock_before = sum(cpu_seconds(p) for p in target.pids), time.monotonic()
        result = self.load.run(job)
        cpu_used = sum(cpu_seconds(p) for p in target.pids) - cpu_before
        stats = self._acks(result, shape, cpu_used / (time.monotonic() - clock_before))
        if target.does_work:
            self._drain(stats.acked - stats.busy, patience)
            calls_after, trips_after = self.redis_counters()
            redis_used = calls_after - calls_before
            redis_used["round trips"] = trips_after - trips_before - 1  # the first INFO's reply
            self._check_work(stats, result, run_id, texts, redis_used)
        return stats

    @staticmethod
    def _acks(result: LoadResult, shape: Shape, cpu_share: float) -> RunStats:
        stats = RunStats(sent=len(result.outcomes), sut_cpu=cpu_share * 100)
        acked = [o for o in result.outcomes if o.status == 200]
        stats.acked = len(acked)
        stats.busy = sum(1 for o in acked if o.busy)
        stats.refused.update(
            o.error or f"HTTP {o.status}" for o in result.outcomes if o.status != 200
        )
        if not acked:
            return stats
        # Latency counts from when a request was due (open loop: not when it left; a burst's
        # requests are all due at once), so a stall cannot hide by delaying the generator.
        stats.ack_ms = _ms([o.done - o.scheduled for o in acked])
        stats.send_late_ms = _ms([o.sent - o.scheduled for o in acked])
        stats.ack_wall = max(o.done for o in acked) - result.started
        first_sent = min(o.sent for o in result.outcomes)
        stats.ack_rate = len(acked) / max(max(o.done for o in acked) - first_sent, 1e-9)
        return stats

    def _drain(self, expected: int, patience: float) -> None:
        """Wait until every accepted command's outcome reached the fake Slack, or stalls."""
        deadline = time.monotonic() + patience
        last_seen, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            counts = self.fakes.counts()
            seen = counts.get("post", 0) + counts.get("response", 0)
            if seen >= expected:
                return
            if seen != last_seen:
                last_seen, last_change = seen, time.monotonic()
            elif time.monotonic() - last_change > STALL_SECONDS:
                return
            time.sleep(0.05)

    def _check_work(
        self,
        stats: RunStats,
        result: LoadResult,
        run_id: str,
        texts: list[str],
        redis_used: Counter[str],
    ) -> None:
        receipts = Receipts.of(self.fakes.snapshot())
        stats.double_writes = sum(1 for times in receipts.puts.values() if len(times) > 1)
        finished: list[float] = []
        e2e_put: list[float] = []
        e2e_post: list[float] = []
        e2e_done: list[float] = []
        for outcome in result.outcomes:
            if outcome.status != 200:
                continue  # refused by HTTP: counted there
            key = request_key(run_id, outcome.index)
            verb, uid = texts[outcome.index].split()[:2]
            if outcome.busy:  # refused in its ack: nothing may follow it
                stats.refused_yet_acted += _acted_on(receipts, key, verb, uid)
                continue
            post_at = receipts.posts.get(channel_for(key))
            reply_at, reply = receipts.replies.get(key, (None, ""))
            ended = [t for t in (post_at, reply_at) if t is not None]
            if not ended:
                stats.lost += 1
                continue
            finished.append(min(ended))
            e2e_done.append(min(ended) - outcome.scheduled)
            if verb == "pause" and post_at is not None and receipts.paused_once(uid):
                e2e_put.append(receipts.puts[uid][0] - outcome.scheduled)
                e2e_post.append(post_at - outcome.scheduled)
                stats.completed += 1
            elif verb == "status" and reply_at is not None and not reply.startswith(FAILURE):
                stats.completed += 1
            else:
                stats.unsuccessful += 1
                if len(stats.examples) < 5:
                    why = reply or "channel post without exactly one PUT, webhook and paused status"
                    stats.examples.append(f"{verb}: {why[:100]}")
        if finished:
            stats.done_wall = max(finished) - result.started
            stats.done_rate = stats.completed / max(stats.done_wall, 1e-9)
        if receipts.puts:
            last_put = max(t for times in receipts.puts.values() for t in times)
            stats.put_wall = last_put - result.started
        stats.e2e_put_ms = _ms(e2e_put)
        stats.e2e_post_ms = _ms(e2e_post)
        stats.e2e_done_ms = _ms(e2e_done)
        if stats.completed:
            per = 1 / stats.completed
            stats.redis_per_command = {k: v * per for k, v in sorted(redis_used.items()) if v}
            stats.convoy_per_command = {
                k: v * per for k, v in sorted(receipts.convoy_calls.items())
            }


@dataclass
class Receipts:
    """What the fakes received during one run, indexed for joining with the requests."""

    posts: dict[str, float]  # channel -> first chat.postMessage time
    replies: dict[str, tuple[float, str]]  # response-URL token -> (first time, text)
    hooks: Counter[str]  # endpoint uid -> webhook posts
    puts: dict[str, list[float]]  # endpoint uid -> PUT /pause times
    convoy_calls: Counter[str]  # operation -> calls
    statuses: dict[str, str]  # endpoint uid -> status now

    @classmethod
    def of(cls, snapshot: dict[str, Any]) -> Receipts:
        receipts = cls({}, {}, Counter(), {}, Counter(), snapshot["statuses"])
        for kind, key, at, note in snapshot["slack"]:
            if kind == "post":
                receipts.posts.setdefault(key, at)
            elif kind == "response":
                receipts.replies.setdefault(key, (at, note))
            elif kind == "webhook":
                receipts.hooks[key.split("/")[1]] += 1  # T0BENCH/<uid>/hooksecret
        for operation, uid, at, _ in snapshot["convoy"]:
            receipts.convoy_calls[operation] += 1
            if operation == "pause":
                receipts.puts.setdefault(uid, []).append(at)
        return receipts

    def paused_once(self, uid: str) -> bool:
        """One PUT, one webhook post, and the endpoint is paused now."""
        puts = self.puts.get(uid, [])
        return len(puts) == 1 and self.hooks[uid] == 1 and self.statuses.get(uid) == "paused"


def _acted_on(receipts: Receipts, key: str, verb: str, uid: str) -> bool:
    """Whether a command refused in its ack was answered, told or written all the same."""
    told = key in receipts.replies or channel_for(key) in receipts.posts
    return told or (verb == "pause" and uid in receipts.puts)
