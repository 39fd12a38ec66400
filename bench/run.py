"""The orchestrator: start every process, run each measurement, print and write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import profile
from bench.authorize import authorize_table
from bench.measure import Command, Harness, RunStats, Shape, Target, combine
from bench.processes import (
    REPO,
    Cores,
    Fakes,
    LoadWorker,
    cpu_seconds,
    export_commit,
    pinned_to,
    rss_kib,
    set_affinity,
    snapshot_code,
)
from bench.processes import start_baseline as start_baseline_process
from bench.report import (
    PLAIN_NAME,
    Memory,
    Overload,
    Results,
    WatchCost,
    all_runs,
    render,
    revision,
)
from bot import redis_keys
from bot.access.roles import GLOBAL_SCOPE, Role, RoleStore
from bot.store import redis_client
from tests.fakes.loopback import free_port
from tests.harness import (
    CONVOY_KEY,
    PROJECT,
    BotProcess,
    bot_env,
    project_scope,
    start_bot,
    start_redis,
)
from tests.redis_cluster import start_redis_cluster

CONCURRENCY = 32  # requests in flight at saturation
REFERENCE = "cc86fd3"  # the first round's code (BENCHMARKS.md of issue #6 measured it)
CAPACITY_CONCURRENCY = 64  # requests in flight while capacity is measured
METRICS_READ_SECONDS = 0.5  # between two reads of the watcher's /metrics
BUSY_BACKOFF = 0.2  # a capacity run's sender refused as busy waits this long (bench.load)
# The capacity runs' bots take on work beyond their 32 slots: the runs' senders send again as
# soon as they are acked (and wait 0.2 s when refused), and at the default bound (the slots)
# those waits left the core idle (153 pauses/s at 49% CPU), measuring the senders, not the bot.
CAPACITY_SETTINGS = {"CONVOY_BOT_MAX_PENDING": "128"}
PLAIN_SETTINGS = {
    "CONVOY_BOT_EVENT_LOOP": "asyncio",
    "CONVOY_BOT_HTTP_PARSER": "h11",
    **CAPACITY_SETTINGS,
}
# The measurements, in the order they run (`--steps` picks some).
STEPS = (
    "memory",
    "acks",
    "capacity",
    "overload",
    "slow",
    "burst",
    "watch",
    "scale",
    "cluster",
    "authorize",
)
OVERLOAD_FACTOR = 3.0  # the overload's rate, in multiples of the measured pause capacity
WATCH_ENDPOINTS = 1000
SLOW_CONVOY_SECONDS = 0.3
MEMORY_RATE = 160.0  # mixed commands per second: well inside what one bot sustains (~200)
OPERATORS = 5000  # users the commands rotate over, so no per-user limit is ever reached
_LOG_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")
_LOG_STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
_UID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")


@dataclass(frozen=True)
class Plan:
    """How much load each measurement sends: the full benchmark or the CI smoke test."""

    quick: bool
    runs: int
    rates: tuple[tuple[float, float], ...]  # (requests/s, seconds)
    saturation_seconds: float
    saturation_most: int  # requests a saturation run may send (pauses need as many endpoints)
    slow: tuple[tuple[Command, float, float], ...]  # (command, requests/s, seconds)
    burst: int
    warmup: int
    memory_commands: int
    scale: tuple[tuple[Command, float, float], ...]  # (command, requests/s, seconds)
    cluster: tuple[Command, float, float] | None = None  # 1, 2, 3 bots on a Redis Cluster
    reference: str = ""  # a commit whose bot is measured beside ours ("" for none)
    capacity_seconds: float = 0.0  # saturation runs for completed/s (0: not measured)
    capacity_most: int = 0
    overload_seconds: float = 0.0  # the overload run (0: none)
    watch_polls: int = 0  # polls of WATCH_ENDPOINTS endpoints measured (0: none)
    profile: bool = False  # py-spy on the capacity runs

    @classmethod
    def full(cls) -> Plan:
        return cls(
            quick=False,
            runs=3,
            rates=((50, 3.0), (200, 2.0)),
            saturation_seconds=1.5,
            saturation_most=6000,
            slow=(("status", 50, 2.0), ("pause", 50, 2.0), ("pause", 200, 1.5)),
            burst=500,
            warmup=200,
            memory_commands=10_000,
            scale=(("pause", 250, 2.0),),
            cluster=("pause", 250, 2.0),
            reference=REFERENCE,
            capacity_seconds=3.0,
            capacity_most=3_000,
            overload_seconds=60.0,
            watch_polls=5,
            profile=True,
        )

    @classmethod
    def smoke(cls) -> Plan:
        return cls(
            quick=True,
            runs=1,
            rates=((50, 1.0), (200, 0.5)),
            saturation_seconds=0.5,
            saturation_most=1000,
            slow=(("pause", 50, 1.0),),
            burst=30,  # 50 would need the bot's whole Redis pool (100) at once: flaky
            warmup=50,
            memory_commands=200,
            scale=(),
            capacity_seconds=0.5,
            capacity_most=1000,
            overload_seconds=2.0,
            watch_polls=1,
        )


class Bench:
    """The running processes, the measurements taken with them, and recovery from wedges."""

    def __init__(self, plan: Plan, cores: Cores, workdir: Path, stack: ExitStack) -> None:
        self.plan = plan
        self.cores = cores
        self.workdir = workdir
        self.stack = stack
        self.results = Results(quick=plan.quick, runs=plan.runs, cores=cores)
        self.results.convoy_delay = SLOW_CONVOY_SECONDS
        self.logs: dict[str, Path] = {}
        self.bot_cpus = cores.sut
        self._starts = 0
        self.code = snapshot_code(workdir / "code")
        self.results.revision = revision()
        os.sched_setaffinity(0, cores.harness)  # children inherit it: Redis, fakes, load
        self.redis = start_redis(workdir / "redis")
        stack.callback(self.redis.stop)
        self.fakes = Fakes(workdir, PROJECT, CONVOY_KEY)
        stack.callback(self.fakes.stop)
        self.logs["fakes"] = self.fakes.log_path
        self.bots: list[BotProcess] = [self.start_bot()]
        self.reference: BotProcess | None = None
        if plan.reference:
            self.reference_code = export_commit(plan.reference, workdir / "reference")
            self.reference = self.start_bot(code=self.reference_code, name="reference")
        # Ours on the standard library's event loop and uvicorn's pure-Python parser: what
        # uvloop and httptools (the defaults) bring, in the capacity runs.
        self.plain: BotProcess | None = None
        self.capacity_bot: BotProcess | None = None
        if plan.capacity_seconds:
            self.plain = self.start_bot(name="plain", settings=PLAIN_SETTINGS)
            self.capacity_bot = self.start_bot(name="capacity", settings=CAPACITY_SETTINGS)
        with pinned_to(cores.sut):
            self.baseline = start_baseline_process(self.env(), workdir / "baseline")
        stack.callback(self.baseline.stop)
        self.logs["baseline"] = self.baseline.log_path
        self.load = LoadWorker(workdir)
        stack.callback(self.load.stop)
        self.logs["load"] = self.load.log_path
        store = self.redis.client()
        stack.callback(store.close)
        self.harness = Harness(self.fakes, self.load, store, grant_operators(self.redis.url))

    def env(self, code: Path | None = None) -> dict[str, str]:
        env = bot_env(self.fakes.convoy_url, self.fakes.slack_url, self.redis.url, free_port())
        # The snapshot, not the tree others may be editing (or the reference commit's code).
        env["PYTHONPATH"] = str(code or self.code)
        # The bot's own capacity, not Slack's: one workspace's posts at Slack's pace (a few
        # hundred a minute) would be what every row measured.
        env["CONVOY_BOT_SLACK_RATE_LIMITS"] = "false"
        # The tests' scheduler ticks every 0.2 s and settles after 1 s so that they need not
        # wait; measured that way, the due-work scans alone were about 5 Redis commands and
        # 1 round trip per pause at 50/s. The bench measures production's (5 s, 20 s).
        for test_only in ("CONVOY_BOT_SCHEDULER_INTERVAL_SECONDS", "CONVOY_BOT_SETTLE_SECONDS"):
            del env[test_only]
        # Set where the bench runs, to measure another bound than the default (docs/operating.md).
        if "CONVOY_BOT_MAX_PENDING" in os.environ:
            env["CONVOY_BOT_MAX_PENDING"] = os.environ["CONVOY_BOT_MAX_PENDING"]
        return env

    def start_bot(
        self, *, code: Path | None = None, name: str = "", settings: Mapping[str, str] = {}
    ) -> BotProcess:
        self._starts += 1
        name = name or f"bot{self._starts}"
        with pinned_to(self.bot_cpus):
            bot = start_bot({**self.env(code), **settings}, self.workdir / name)
        self.stack.callback(bot.stop)
        self.logs[name] = bot.log_path
        return bot

    def ours(self, bots: int = 1) -> Target:
        name = "ours" if bots == 1 else f"ours x{bots}"
        return Target(name, tuple(self.bots[:bots]), does_work=True)

    def baseline_target(self) -> Target:
        return Target("baseline", (self.baseline,), does_work=False)

    def reference_target(self) -> Target | None:
        if self.reference is None:
            return None
        return Target(f"first round ({self.plan.reference})", (self.reference,), does_work=True)

    def run(
        self, phase: str, target: Target, command: Command, shape: Shape, **options: float
    ) -> RunStats:
        """One run; if our bot's work went wrong, see whether it still works, then replace it.

        An overloaded bot can keep part of the damage (connection slots that never come back),
        so it is always replaced: every run starts from a bot that had no failures yet.
        """
        stats = self.harness.run(target, command, shape, **options)
        if target.does_work and stats.problems:
            self.replace(target, f"{phase} `{command}` {shape.label} on {target.name}")
        return stats

    def replace(self, target: Target, after: str) -> None:
        for bot in target.processes:
            failure = self.canary(bot)
            if failure is None:
                incident = f"after {after}: the bot still completed a `/convoy status`"
            else:
                incident = f"after {after}: the bot no longer completed a `/convoy status` "
                incident += f"({failure})"
            self.results.incidents[incident] += 1
            bot.stop()
            if bot is self.reference:
                self.reference = self.start_bot(code=self.reference_code, name="reference")
                continue
            if bot is self.plain:
                self.plain = self.start_bot(name="plain", settings=PLAIN_SETTINGS)
                continue
            if bot is self.capacity_bot:
                self.capacity_bot = self.start_bot(name="capacity", settings=CAPACITY_SETTINGS)
                continue
            index = self.bots.index(bot)
            self.bots[index] = self.start_bot()

    def canary(self, bot: BotProcess) -> str | None:
        """None if the bot still completes two status commands (after the drain), else why."""
        probe = Target("canary", (bot,), does_work=True)
        stats = self.harness.run(probe, "status", Shape.at_rate(4, 0.5), patience=6)
        if stats.completed == stats.sent and not stats.problems:
            return None
        return stats.examples[0] if stats.examples else "no reply"

    def saturation(self) -> Shape:
        plan = self.plan
        return Shape.saturation(plan.saturation_seconds, CONCURRENCY, plan.saturation_most)

    def measure_memory(self) -> None:
        """RSS idle, after a warm-up, and after the measured commands (a fresh bot)."""
        pid = self.bots[0].process.pid
        cold = rss_kib(pid)
        warmup = Shape.at_rate(100, self.plan.warmup / 100)
        self.harness.run(self.ours(), "mixed", warmup)
        warm = rss_kib(pid)
        shape = Shape.at_rate(MEMORY_RATE, self.plan.memory_commands / MEMORY_RATE)
        stats = self.harness.run(self.ours(), "mixed", shape)
        time.sleep(1.0)  # the last replies' buffers go
        self.results.memory = Memory(cold, warm, rss_kib(pid), warmup.count, stats)
        if stats.problems:
            self.replace(self.ours(), "the memory run")

    def measure_acks(self) -> None:
        """Fixed rates and saturation, ours and the baseline interleaved run by run."""
        shapes = [Shape.at_rate(rate, seconds) for rate, seconds in self.plan.rates]
        shapes.append(self.saturation())
        runs: dict[tuple[str, str, str], list[RunStats]] = {}
        for _ in range(self.plan.runs):
            for command in ("status", "pause"):
                for shape in shapes:
                    for target in (self.ours(), self.baseline_target()):
                        stats = self.run("ack runs:", target, command, shape)
                        runs.setdefault((target.name, command, shape.label), []).append(stats)
        self.results.ack = {key: combine(value) for key, value in runs.items()}

    def measure_slow_convoy(self) -> None:
        for command, rate, seconds in self.plan.slow:
            shape = Shape.at_rate(rate, seconds)
            runs = [
                self.run(
                    "slow Convoy:", self.ours(), command, shape, convoy_delay=SLOW_CONVOY_SECONDS
                )
                for _ in range(self.plan.runs)
            ]
            self.results.slow[(command, shape.label)] = combine(runs)

    def measure_burst(self) -> None:
        shape = Shape.burst(self.plan.burst)
        runs = [self.run("burst:", self.ours(), "pause", shape) for _ in range(self.plan.runs)]
        self.results.burst = combine(runs)

    def measure_capacity(self) -> None:
        """Completed commands per second of one bot on one core, saturated (64 in flight), for
        ours and the first round's code; then one more run of each under py-spy."""
        if not self.plan.capacity_seconds:
            return
        shape = Shape.saturation(
            self.plan.capacity_seconds,
            CAPACITY_CONCURRENCY,
            self.plan.capacity_most,
            busy_backoff=BUSY_BACKOFF,
        )
        runs: dict[tuple[str, str], list[RunStats]] = {}
        commands: tuple[Command, ...] = ("status", "pause")
        for _ in range(self.plan.runs):
            for command in commands:
                for target in self.capacity_targets():  # afresh: a bot may have been replaced
                    stats = self.run("capacity:", target, command, shape, patience=120)
                    runs.setdefault((target.name, command), []).append(stats)
        self.results.capacity = {key: combine(value) for key, value in runs.items()}
        if not (self.plan.profile and profile.available()):
            return
        for command in commands:
            for target in self.capacity_targets(variants=False):
                self.results.profiles[(target.name, command)] = self.profiled(
                    target, command, shape
                )

    def capacity_targets(self, *, variants: bool = True) -> list[Target]:
        """Ours, the first round's code, and (`variants`) ours on asyncio's loop and h11; ours
        with CAPACITY_SETTINGS."""
        plain = None
        if variants and self.plain is not None:
            plain = Target(PLAIN_NAME, (self.plain,), does_work=True)
        ours = self.ours()
        if self.capacity_bot is not None:
            ours = Target(ours.name, (self.capacity_bot,), does_work=True)
        return [t for t in (ours, plain, self.reference_target()) if t is not None]

    def profiled(self, target: Target, command: Command, shape: Shape) -> profile.Profile:
        """One saturation run with py-spy sampling the bot: its CPU, by library."""
        (bot,) = target.processes
        out = self.workdir / f"profile-{len(self.results.profiles)}.txt"
        cpu_before = cpu_seconds(bot.process.pid)
        sampler = profile.Sampler(bot.process.pid, out)  # through the run's whole work
        stats = self.run("profile:", target, command, shape, patience=120)
        cpu = cpu_seconds(bot.process.pid) - cpu_before
        return profile.Profile(sampler.stop(), cpu, stats.completed)

    def measure_overload(self) -> None:
        """Pauses at three times the measured capacity for a minute: what the ack says, what
        was accepted and how fast it was done, and the bot's memory before and after."""
        if not self.plan.overload_seconds:
            return
        measured = self.results.capacity.get(("ours", "pause"))
        capacity = measured.done_rate if measured and measured.done_rate > 0 else 100.0
        # BENCH_OVERLOAD_RATE: one fixed rate, to compare code or settings under one load.
        rate = float(os.environ.get("BENCH_OVERLOAD_RATE") or OVERLOAD_FACTOR * capacity)
        bot = self.bots[0]
        before = rss_kib(bot.process.pid)
        shape = Shape.at_rate(rate, self.plan.overload_seconds)
        stats = self.run("overload:", self.ours(), "pause", shape, patience=60)
        time.sleep(1.0)  # the last replies' buffers go
        after = rss_kib(self.bots[0].process.pid) if self.bots[0] is bot else math.nan
        self.results.overload = Overload(rate, capacity, before, after, stats)

    def measure_watch(self) -> None:
        """What one poll of a project of 1,000 endpoints costs: Convoy calls and the bot's CPU
        (a bot of its own, its watch on, the project bound to a channel)."""
        if not self.plan.watch_polls:
            return
        self.fakes.reset(WATCH_ENDPOINTS)
        store = self.redis.client()
        store.hset(redis_keys.bindings(), "C0WATCHED", project_scope(self.fakes.convoy_url))
        watcher = self.start_bot(
            name="watcher",
            settings={
                "CONVOY_BOT_WATCH_ENABLED": "true",
                "CONVOY_BOT_WATCH_INTERVAL": "2s",
                "CONVOY_BOT_SCHEDULER_INTERVAL_SECONDS": "0.5",
            },
        )
        try:
            first = wait_for_polls(watcher, 1)  # the first poll also stores what it saw
            cpu_before, lists_before = cpu_seconds(watcher.process.pid), self.list_calls()
            polled = wait_for_polls(watcher, first + self.plan.watch_polls) - first
            cpu = cpu_seconds(watcher.process.pid) - cpu_before
            lists = self.list_calls() - lists_before
            self.results.watch = WatchCost(WATCH_ENDPOINTS, polled, lists, cpu)
        finally:
            watcher.stop()
            store.delete(redis_keys.bindings())
            store.close()

    def list_calls(self) -> int:
        return sum(1 for op, *_ in self.fakes.snapshot()["convoy"] if op == "list")

    def unpin(self) -> None:
        """Every process of the harness (and the bots started from now on) on every core."""
        everything = self.cores.everything
        self.bot_cpus = everything
        os.sched_setaffinity(0, everything)
        for process in (self.redis.process, self.fakes.process, self.load.process):
            set_affinity(process.pid, everything)

    def measure_scale_out(self) -> None:
        """One bot against two sharing Redis, at a rate above what one bot sustains.

        Nothing is pinned: a second bot needs a core of its own.
        """
        if not self.plan.scale:
            return
        self.unpin()
        set_affinity(self.bots[0].process.pid, self.cores.everything)
        self.bots.append(self.start_bot())
        runs: dict[tuple[int, str], list[RunStats]] = {}
        for _ in range(self.plan.runs):
            for command, rate, seconds in self.plan.scale:
                for bots in (1, 2):
                    shape = Shape.at_rate(rate, seconds)
                    stats = self.run("scale-out:", self.ours(bots), command, shape)
                    runs.setdefault((bots, f"`{command}` {shape.label}"), []).append(stats)
        self.results.scale = {key: combine(value) for key, value in runs.items()}

    def measure_authorize(self) -> None:
        """Authorizing one request of a workspace: Bolt's default against the bot's own."""
        requests = 50 if self.results.quick else 500
        self.results.authorize = authorize_table(self.workdir / "authorize", requests)

    def measure_cluster(self) -> None:
        """One, two and three bots on a Redis Cluster (three masters with a replica each),
        at one rate above what one bot sustains. Nothing is pinned, as in the scale-out."""
        if self.plan.cluster is None:
            return
        self.unpin()
        cluster = start_redis_cluster(self.workdir / "cluster")
        self.stack.callback(cluster.stop)
        store = cluster.client()
        self.stack.callback(store.close)
        harness = Harness(self.fakes, self.load, store, grant_operators(cluster.url))
        on_cluster = {"REDIS_URL": cluster.url}
        bots = [self.start_bot(name=f"cluster{n}", settings=on_cluster) for n in range(3)]
        command, rate, seconds = self.plan.cluster
        shape = Shape.at_rate(rate, seconds)
        runs: dict[int, list[RunStats]] = {}
        for _ in range(self.plan.runs):
            for count in (1, 2, 3):
                target = Target(f"cluster x{count}", tuple(bots[:count]), does_work=True)
                runs.setdefault(count, []).append(harness.run(target, command, shape))
        self.results.cluster_load = f"`{command}` {shape.label}"
        self.results.cluster = {count: combine(stats) for count, stats in runs.items()}


def wait_for_polls(bot: BotProcess, count: int) -> int:
    """Wait until the bot has polled its watched projects `count` times; how many it has."""

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page = httpx.get(f"{bot.url}/metrics", timeout=5).text
        done = sum(
            float(line.rsplit(" ", 1)[1])
            for line in page.splitlines()
            if line.startswith("convoy_bot_watch_polls_total{") and 'result="ok"' in line
        )
        if done >= count:
            return int(done)
        # Gently: each /metrics page costs the bot CPU too (its gauges read Redis), which
        # would be counted as the watch's.
        time.sleep(METRICS_READ_SECONDS)
    raise TimeoutError(f"the watcher did not poll {count} time(s) in 120 s")


def grant_operators(redis_url: str, count: int = OPERATORS) -> list[str]:
    """Give `count` made-up Slack users the operator role, through the bot's own RoleStore."""
    users = [f"UBENCH{i:05d}" for i in range(count)]

    async def grant_all() -> None:
        client = redis_client(redis_url)
        try:
            store = RoleStore(client, [])
            for user in users:
                await store.grant(user, Role.OPERATOR, GLOBAL_SCOPE)
        finally:
            await client.aclose()

    asyncio.run(grant_all())
    return users


def scan_logs(logs: dict[str, Path]) -> Counter[str]:
    """Warning and error lines of every child's log, counted across processes.

    Timestamps go, and so do endpoint uids, so one kind of line is counted once; which
    kind of process wrote it (bot, baseline, fakes, load) is kept.
    """
    found: Counter[str] = Counter()
    for name, path in logs.items():
        if not path.exists():
            continue
        kind = name.rstrip("0123456789")
        for line in path.read_text(errors="replace").splitlines():
            if _LOG_PROBLEM.search(line):
                text = _UID.sub("<uid>", _LOG_STAMP.sub("", line).strip())
                found[f"{kind}: {text}"] += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny load for CI (< 30 s)")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the report (default: BENCHMARKS.md, not in --quick)",
    )
    parser.add_argument(
        "--steps",
        default="",
        help="comma-separated steps to run (default: all): " + ", ".join(STEPS),
    )
    args = parser.parse_args(argv)
    chosen = [step.strip() for step in args.steps.split(",") if step.strip()] or list(STEPS)
    if unknown := sorted(set(chosen) - set(STEPS)):
        parser.error(f"unknown steps: {', '.join(unknown)}")
    plan = Plan.smoke() if args.quick else Plan.full()
    out: Path | None = args.out or (None if args.quick else REPO / "BENCHMARKS.md")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="convoy-bench-") as tmp:
        with ExitStack() as stack:
            bench = Bench(plan, Cores.split(), Path(tmp), stack)
            steps = {
                "memory": bench.measure_memory,
                "acks": bench.measure_acks,
                "capacity": bench.measure_capacity,
                "overload": bench.measure_overload,
                "slow": bench.measure_slow_convoy,
                "burst": bench.measure_burst,
                "watch": bench.measure_watch,
                "scale": bench.measure_scale_out,
                "cluster": bench.measure_cluster,
                "authorize": bench.measure_authorize,
            }
            for name in STEPS:
                if name not in chosen:
                    continue
                step = steps[name]
                began = time.monotonic()
                step()
                sys.stderr.write(f"bench: {name} took {time.monotonic() - began:.1f} s\n")
            exited = [b.log_path.parent.name for b in bench.bots if b.process.poll() is not None]
        results = bench.results
        results.log_lines = scan_logs(bench.logs)
    results.elapsed = time.monotonic() - started
    report = render(results, "make bench-smoke" if plan.quick else "make bench")
    sys.stdout.write(report)
    if out is not None:
        out.write_text(report)
        sys.stderr.write(f"bench: wrote {out}\n")
    broken = _broken(results) + [f"{name} exited during the run" for name in exited]
    for problem in broken:
        sys.stderr.write(f"bench: {'BROKEN' if plan.quick else 'problem'}: {problem}\n")
    return 1 if plan.quick and broken else 0


def _broken(results: Results) -> list[str]:
    """What makes the smoke test fail: refused, lost or wrongly done commands, replaced bots."""
    broken = [
        f"{name}: {stats.problems} problem(s)"
        for name, stats in all_runs(results).items()
        if stats.problems and "saturation" not in name and "capacity" not in name
        # overload is measured, not a defect
    ]
    wedged = [i for i in results.incidents if "no longer" in i and "saturation" not in i]
    return broken + wedged
