"""BENCHMARKS.md: the machine, the method, the tables and the targets with PASS or MISS."""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.measure import RunStats
from bench.processes import Cores
from bench.profile import Profile
from bot.embedded_redis import find_redis_server
from bot.settings import Settings

ACK_LOADS = ("50/s", "200/s", "saturation")
MB = 1024  # KiB per MiB
TRIPS = "round trips"  # the key of bench.measure's round-trip count among the Redis commands


PLAIN_NAME = "ours, asyncio loop and h11"  # ours on the standard loop and parser


@dataclass
class Memory:
    """The bot's RSS when idle, after a warm-up, and after the measured commands."""

    cold_kib: int
    warm_kib: int
    after_kib: int
    warmup_commands: int
    commands: RunStats


@dataclass
class Overload:
    """A minute of pauses at a multiple of the measured capacity."""

    rate: float  # requests per second sent
    capacity: float  # the pauses per second it is a multiple of
    rss_before_kib: int
    rss_after_kib: float  # NaN when the bot was replaced after the run
    stats: RunStats


@dataclass
class WatchCost:
    """Polls of one project of `endpoints` endpoints: Convoy's list calls and the bot's CPU."""

    endpoints: int
    polls: int
    list_calls: int
    cpu_seconds: float


@dataclass
class Results:
    """Everything measured in one `python -m bench`."""

    quick: bool
    runs: int
    cores: Cores
    ack: dict[tuple[str, str, str], RunStats] = field(default_factory=dict)  # target, cmd, load
    slow: dict[tuple[str, str], RunStats] = field(default_factory=dict)  # command, load
    burst: RunStats | None = None
    memory: Memory | None = None
    scale: dict[tuple[int, str], RunStats] = field(default_factory=dict)  # bots, load
    cluster: dict[int, RunStats] = field(default_factory=dict)  # bots on the Redis Cluster
    cluster_load: str = ""
    capacity: dict[tuple[str, str], RunStats] = field(default_factory=dict)  # target, command
    profiles: dict[tuple[str, str], Profile] = field(default_factory=dict)  # target, command
    overload: Overload | None = None
    watch: WatchCost | None = None
    revision: str = ""  # the commit measured (bench.report.revision at the start)
    authorize: list[str] = field(default_factory=list)  # bench.authorize's table
    incidents: Counter[str] = field(default_factory=Counter)  # bots replaced after failures
    log_lines: Counter[str] = field(default_factory=Counter)
    elapsed: float = math.nan
    convoy_delay: float = 0.3


def revision() -> str:
    """The commit measured, and whether bot/ or handlers/ had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(  # noqa: S603  # read-only git queries
            ["git", *args],  # noqa: S607  # git from PATH, as a developer runs it
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "bot", "handlers")
    return commit + (" plus uncommitted changes in bot/ or handlers/" if dirty else "")


def machine(revision: str) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    redis_version = subprocess.run(  # noqa: S603  # the bot's own redis-server lookup
        [str(find_redis_server()), "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    libraries = ", ".join(
        f"{name} {version(name)}"
        for name in ("slack_bolt", "slack_sdk", "uvicorn", "starlette", "httpx", "aiohttp", "redis")
    )
    return [
        f"- nproc: {os.cpu_count()}",
        f"- CPU: {model.group(1).strip() if model else 'unknown'}",
        f"- Python: {platform.python_version()} ({platform.python_implementation()}), "
        f"Linux {platform.release()}",
        f"- redis-server: {' '.join(redis_version[2:3]) or 'unknown'}; {libraries}",
        f"- Code measured: commit {revision}, copied when the run started",
        f"- CONVOY_BOT_MAX_PENDING: {bound_measured()}",
    ]


def bound_measured() -> str:
    """The bound of work taken on that our bot ran with (bench.run passes the variable on)."""
    if "CONVOY_BOT_MAX_PENDING" in os.environ:
        return f"{os.environ['CONVOY_BOT_MAX_PENDING']} (set where the bench ran)"
    return f"{Settings.model_fields['convoy_bot_max_pending'].default} (the default)"


def _n(value: float, digits: int = 1) -> str:
    return "-" if math.isnan(value) else f"{value:,.{digits}f}"


def _p(values: tuple[float, float, float]) -> str:
    return " / ".join(_n(v) for v in values)


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def _problems(stats: RunStats) -> str:
    parts = [f"{n}x {what}" for what, n in stats.refused.most_common()]
    for count, what in (
        (stats.unsuccessful, "not done"),
        (stats.lost, "lost"),
        (stats.double_writes, "double PUT"),
        (stats.refused_yet_acted, "refused as busy, yet acted on"),
    ):
        if count:
            parts.append(f"{count} {what}")
    return ", ".join(parts) or "none"


def _redis_commands(stats: RunStats) -> float:
    return sum(v for k, v in stats.redis_per_command.items() if k != TRIPS)


def _redis_breakdown(stats: RunStats) -> str:
    parts = [f"{k} {_n(v, 2)}" for k, v in stats.redis_per_command.items() if k != TRIPS]
    return f"{_n(_redis_commands(stats), 2)}: " + ", ".join(parts)


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def capacity_targets(results: Results) -> list[list[str]]:
    """The targets of issue 22 (capacity and overload)."""
    rows: list[list[str]] = []
    for command, least in (("status", 1000), ("pause", 400)):
        stats = results.capacity.get(("ours", command))
        if stats:
            rows.append(
                [
                    f"`/convoy {command}` completed per second, one core, saturated",
                    f"≥ {least:,}",
                    f"{_n(stats.done_rate, 0)}/s (end-to-end p99 {_n(stats.e2e_done_ms[2])} ms)",
                    _verdict(None if math.isnan(stats.done_rate) else stats.done_rate >= least),
                ]
            )
    fast = results.capacity.get(("ours", "pause"))
    plain = results.capacity.get((PLAIN_NAME, "pause"))
    if fast and plain and plain.done_rate > 0:
        gain = fast.done_rate / plain.done_rate
        rows.append(
            [
                "uvloop and httptools kept only for a gain: pauses completed/s, with / without",
                "> 1.00",
                f"{gain:.2f} ({_n(fast.done_rate, 0)} / {_n(plain.done_rate, 0)})",
                _verdict(gain > 1.0),
            ]
        )
    overload = results.overload
    if overload is not None:
        stats = overload.stats
        growth = (overload.rss_after_kib - overload.rss_before_kib) / MB
        dropped = stats.lost + sum(stats.refused.values())
        for what, goal, measured, ok in (
            ("ack p99", "≤ 50 ms", f"{_n(stats.ack_ms[2])} ms", stats.ack_ms[2] <= 50),
            (
                "end-to-end p99 of the accepted",
                "≤ 2,000 ms",
                f"{_n(stats.e2e_done_ms[2])} ms",
                stats.e2e_done_ms[2] <= 2000,
            ),
            ("RSS growth", "≤ 20 MB", f"{_n(growth)} MiB", growth <= 20),
            (
                "acked, then neither done nor refused (silently dropped)",
                "0",
                f"{dropped:,} (busy refusals: {stats.busy:,} of {stats.sent:,})",
                dropped == 0,
            ),
        ):
            rows.append(
                [
                    f"overload, {_n(overload.rate, 0)}/s for a minute: {what}",
                    goal,
                    measured,
                    _verdict(None if measured.startswith("-") else bool(ok)),
                ]
            )
    return rows


def targets(results: Results) -> list[list[str]]:
    """Each target of issue #6 with what was measured and PASS or MISS."""
    rows: list[list[str]] = capacity_targets(results)
    ours = results.ack.get(("ours", "status", "saturation"))
    base = results.ack.get(("baseline", "status", "saturation"))
    if ours and base:
        ratio = _ratio(ours.ack_rate, base.ack_rate)
        rows.append(
            [
                "ack throughput of `/convoy status`, ours / baseline",
                "≥ 0.80",
                f"{_n(ratio, 2)} ({_n(ours.ack_rate, 0)} / {_n(base.ack_rate, 0)} req/s)",
                _verdict(None if math.isnan(ratio) else ratio >= 0.8),
            ]
        )
    for command in ("status", "pause"):
        ours = results.ack.get(("ours", command, "200/s"))
        base = results.ack.get(("baseline", command, "200/s"))
        if ours and base:
            limit = 2 * base.ack_ms[2]
            rows.append(
                [
                    f"ack p99 of `/convoy {command}` at 200 req/s",
                    f"≤ 2x baseline p99 = {_n(limit)} ms",
                    f"{_n(ours.ack_ms[2])} ms",
                    _verdict(None if math.isnan(limit) else ours.ack_ms[2] <= limit),
                ]
            )
    for load in ("50/s", "200/s"):
        ours = results.ack.get(("ours", "pause", load))
        if ours:
            p99 = ours.e2e_post_ms[2]
            rows.append(
                [
                    f"end-to-end p99, `/convoy pause` → chat.postMessage, {load}",
                    "≤ 100 ms",
                    f"{_n(p99)} ms",
                    _verdict(None if math.isnan(p99) else p99 <= 100),
                ]
            )
    cost = results.ack.get(("ours", "pause", "50/s"))
    if cost:
        trips = cost.redis_per_command.get(TRIPS, math.nan)
        rows.append(
            [
                "Redis round trips per successful pause (by uid)",
                "≤ 4",
                f"{_n(trips, 2)} ({_n(_redis_commands(cost), 2)} commands)",
                _verdict(None if math.isnan(trips) else trips <= 4),
            ]
        )
        calls = cost.convoy_per_command
        exact = calls.get("get") == 1 and calls.get("pause") == 1 and sum(calls.values()) == 2
        rows.append(
            [
                "Convoy calls per successful pause (by uid)",
                "exactly 2 (GET, PUT)",
                ", ".join(f"{k} {_n(v, 2)}" for k, v in calls.items()) or "-",
                _verdict(bool(calls) and exact and cost.double_writes == 0),
            ]
        )
    for (command, load), slow in results.slow.items():
        fast = results.ack.get(("ours", command, load))
        if fast and load == "50/s":
            limit = 1.5 * fast.ack_ms[2] + 2
            rows.append(
                [
                    f"ack p99 of `/convoy {command}` at {load} with a 300 ms Convoy",
                    f"stays: ≤ 1.5x zero-latency p99 + 2 = {_n(limit)} ms",
                    f"{_n(slow.ack_ms[2])} ms",
                    _verdict(None if math.isnan(limit) else slow.ack_ms[2] <= limit),
                ]
            )
    if results.burst:
        burst = results.burst
        rows.append(
            [
                f"burst of {burst.sent // burst.runs:,} pauses: each taken on paused exactly "
                "once, each refused as busy left alone",
                "all, none lost",
                f"{burst.completed:,} / {burst.acked - burst.busy:,} taken on, "
                f"{burst.busy:,} refused ({burst.refused_yet_acted} acted on) over "
                f"{burst.runs} run(s), last post after {_n(burst.done_wall, 2)} s",
                _verdict(burst.completed == burst.acked - burst.busy and burst.problems == 0),
            ]
        )
    if results.memory:
        memory = results.memory
        growth = (memory.after_kib - memory.warm_kib) / MB
        rows.append(
            [
                f"RSS growth over {memory.commands.sent:,} commands (after warm-up)",
                "≤ 10 MB",
                f"{_n(growth)} MiB",
                _verdict(growth <= 10),
            ]
        )
    return rows


def render(results: Results, command: str) -> str:
    """The whole report as Markdown."""
    out = [
        "# Benchmarks",
        "",
        "Ack latency, throughput and end-to-end time of convoy-slack-bot against a bare Bolt "
        "app (issue #6). Generated by `bench/`; every number is the median of "
        f"{results.runs} run(s) unless a row says otherwise; latencies are p50 / p95 / p99 "
        "in ms.",
        "",
        f"Reproduce: `{command}` (about 10 minutes; `make bench-smoke` is a 1-run smoke test). "
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {_n(results.elapsed, 0)} s"
        + (" in **quick mode** (tiny loads: not comparable)." if results.quick else "."),
        "",
        "## Machine",
        "",
        *machine(results.revision),
        f"- Topology: {topology(results.cores)}",
        "",
        "## Targets",
        "",
        *_table(("target", "goal", "measured", "verdict"), targets(results)),
        "",
        *capacity_section(results),
        *overload_section(results),
        *watch_section(results),
        *profile_section(results),
        *ack_section(results),
        *e2e_section(results),
        *slow_section(results),
        *burst_section(results),
        *cost_section(results),
        *scale_section(results),
        *cluster_section(results),
        *authorize_section(results),
        *incidents_section(results),
        *examples_section(results),
        *log_section(results),
        *method_section(),
    ]
    return "\n".join(out) + "\n"


def capacity_section(results: Results) -> list[str]:
    if not results.capacity:
        return []
    rows = [
        [
            f"`{command}`",
            target,
            _n(stats.done_rate, 0),
            f"{_n(stats.e2e_done_ms[0])} / {_n(stats.e2e_done_ms[2])}",
            _n(stats.ack_rate, 0),
            f"{stats.busy:,}",
            f"{_n(stats.sut_cpu, 0)}%",
            _problems(stats),
        ]
        for command in ("status", "pause")
        for (target, cmd), stats in results.capacity.items()
        if cmd == command
    ]
    return [
        "## Capacity of one core (issue 22)",
        "",
        "Closed loop, 64 requests in flight, one bot pinned to one core. *completed/s* counts "
        "commands whose work was done (the reply, or the pause applied once and posted), from "
        "the first request to the last completion; end-to-end runs from when a request was due "
        "to that reply or post. The first round's code (the commit named) runs in the same "
        "run, against the same Redis and fakes. *busy* counts acks that refused the command "
        "(`CONVOY_BOT_MAX_PENDING`); a sender refused waits 0.2 s before its next request, as "
        "a person told to try again does (sending again at once, the refusals alone would "
        "fill the core). Our bot runs these with `CONVOY_BOT_MAX_PENDING=128`, work waiting "
        "behind its 32 slots: a sender sends again as soon as it is acked, and at the default "
        "bound (32) the refused senders' waits left the core idle (153 pauses/s at 49% CPU), "
        "which measured the senders. The overload below runs the default. "
        "*ours, asyncio loop and h11* is our code with "
        "`CONVOY_BOT_EVENT_LOOP=asyncio` and `CONVOY_BOT_HTTP_PARSER=h11`: what uvloop and "
        "httptools (the defaults) bring.",
        "",
        *_table(
            (
                "command",
                "code",
                "completed/s",
                "end-to-end p50 / p99 ms",
                "acks/s",
                "busy",
                "CPU",
                "problems",
            ),
            rows,
        ),
        "",
    ]


def overload_section(results: Results) -> list[str]:
    overload = results.overload
    if overload is None:
        return []
    stats = overload.stats
    tripled = abs(overload.rate - 3 * overload.capacity) < 1
    why = (
        f"3x the {_n(overload.capacity, 0)} pauses/s measured above"
        if tripled
        else "a fixed rate, BENCH_OVERLOAD_RATE"
    )
    return [
        "## Overload: a minute at three times capacity (issue 22)",
        "",
        f"`/convoy pause` at {_n(overload.rate, 0)}/s ({why}) "
        "for the run's length, open loop. Every acknowledged command "
        "must be done, or refused in its own ack; none may be dropped. The ack's time counts "
        "from when a request was due, so the load generator's own lateness is in it too "
        "(its row below: the generator collects no garbage while it runs, since its full "
        "collections, walking a minute's 60k requests, stalled it ~150 ms every ~10 s and "
        "were the ack's p99 in the reports before this one).",
        "",
        *_table(
            ("measure", "value"),
            [
                ["sent / acked", f"{stats.sent:,} / {stats.acked:,}"],
                ["refused as busy in the ack", f"{stats.busy:,}"],
                ["accepted and done (paused once, posted)", f"{stats.completed:,}"],
                [
                    "accepted, not done as asked / never told / HTTP refused",
                    f"{stats.unsuccessful:,} / {stats.lost:,} / {sum(stats.refused.values()):,}",
                ],
                ["ack ms", _p(stats.ack_ms)],
                ["of which the load generator's lateness, ms", _p(stats.send_late_ms)],
                ["end-to-end ms of the accepted", _p(stats.e2e_done_ms)],
                ["completed/s", _n(stats.done_rate, 0)],
                [
                    "RSS before / after, MiB",
                    f"{_n(overload.rss_before_kib / MB)} / {_n(overload.rss_after_kib / MB)}",
                ],
            ],
        ),
        "",
    ]


def watch_section(results: Results) -> list[str]:
    watch = results.watch
    if watch is None or not watch.polls:
        return []
    return [
        "## The watch's cost (issue 22)",
        "",
        f"A bot of its own polls one bound project of {watch.endpoints:,} endpoints (the "
        "breaker's rates in the list, so no rates call), every 2 s; the first poll (which also "
        "stores what it saw) is not counted. The CPU also holds the scheduler's other work "
        "in that time and the bench reading the bot's `/metrics` twice a second to count polls "
        "(before issue 22 the bench read it about fifty times a second, which put 640 ms per "
        "poll in this row).",
        "",
        *_table(
            ("measure", "per poll"),
            [
                ["Convoy list calls", _n(watch.list_calls / watch.polls, 1)],
                ["the bot's CPU, ms", _n(watch.cpu_seconds * 1000 / watch.polls, 1)],
            ],
        ),
        "",
    ]


def profile_section(results: Results) -> list[str]:
    if not results.profiles:
        return []
    columns = list(results.profiles)
    per = {key: profile.ms_per_command() for key, profile in results.profiles.items()}
    places = sorted(
        {place for shares in per.values() for place in shares},
        key=lambda place: -max(shares.get(place, 0.0) for shares in per.values()),
    )
    rows = [[place, *(_n(per[key].get(place, 0.0), 3) for key in columns)] for place in places]
    rows.append(
        [
            "**total CPU ms per command**",
            *(_n(sum(per[key].values()), 3) for key in columns),
        ]
    )
    return [
        "## Where a command's CPU goes (issue 22)",
        "",
        "py-spy samples the bot (250 Hz) through one capacity run of each; each sample goes to "
        "the library that caused it (the innermost frame of a known package), and the bot's "
        "CPU seconds in that run are shared out by samples, per completed command.",
        "",
        *_table(("CPU ms per command", *(f"`{cmd}`, {target}" for target, cmd in columns)), rows),
        "",
    ]


def topology(cores: Cores) -> str:
    if not cores.pinned:
        return "one CPU: every process shares it."
    return (
        f"the system under test (our bot, or the baseline) is pinned to CPU {_cpus(cores.sut)}; "
        f"the load generator, the fakes (one process) and redis-server share CPU "
        f"{_cpus(cores.harness)}. Each is its own process. Scale-out runs unpin everything."
    )


def _cpus(cpus: frozenset[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def ack_section(results: Results) -> list[str]:
    rows: list[list[str]] = []
    for command in ("status", "pause"):
        for load in ACK_LOADS:
            ours = results.ack.get(("ours", command, load))
            base = results.ack.get(("baseline", command, load))
            if not ours or not base:
                continue
            rows.append(
                [
                    f"`{command}`",
                    load,
                    _p(ours.ack_ms),
                    _p(base.ack_ms),
                    _n(ours.ack_rate, 0),
                    _n(base.ack_rate, 0),
                    _n(_ratio(ours.ack_rate, base.ack_rate), 2),
                    f"{_n(ours.sut_cpu, 0)}% / {_n(base.sut_cpu, 0)}%",
                    _n(ours.done_rate, 0),
                    _problems(ours) + " / " + _problems(base),
                ]
            )
    return [
        "## 1. Ack latency and throughput",
        "",
        "Fixed rates are open loop (latency counted from when each request was due); "
        "saturation is closed loop with 32 requests in flight for the run's length. "
        "*done/s* is how fast our bot finished the work behind the acks (reply or channel "
        "post received by the fake Slack); the baseline does no work. CPU is the share of one "
        "core the system under test used while the load ran: well under 100% at saturation "
        "means the load generator (which shares the other core with the fakes and Redis) was "
        "the limit, so that throughput is a lower bound.",
        "",
        *_table(
            (
                "command",
                "load",
                "ours ack ms",
                "baseline ack ms",
                "ours acks/s",
                "baseline acks/s",
                "ratio",
                "CPU ours / base",
                "ours done/s",
                "problems ours / base",
            ),
            rows,
        ),
        "",
    ]


def e2e_section(results: Results) -> list[str]:
    rows = [
        [
            load,
            _p(stats.e2e_put_ms),
            _p(stats.e2e_post_ms),
            f"{stats.completed:,} / {stats.sent:,}",
        ]
        for load in ("50/s", "200/s", "saturation")
        if (stats := results.ack.get(("ours", "pause", load)))
    ]
    return [
        "## 2. End-to-end time of `/convoy pause <uid>` (zero-latency fakes)",
        "",
        "From when the command was due to the fake Convoy receiving the `PUT …/pause`, and to "
        "the fake Slack receiving the channel's `chat.postMessage` (the bot posts the endpoint's "
        "webhook first; every bench endpoint has one).",
        "",
        *_table(("load", "→ Convoy PUT ms", "→ chat.postMessage ms", "paused once / sent"), rows),
        "",
    ]


def slow_section(results: Results) -> list[str]:
    rows: list[list[str]] = []
    for (command, load), stats in results.slow.items():
        fast = results.ack.get(("ours", command, load))
        holds = None
        if fast and not math.isnan(fast.ack_ms[2]):
            holds = stats.ack_ms[2] <= 1.5 * fast.ack_ms[2] + 2
        rows.append(
            [
                f"`{command}`",
                load,
                _p(stats.ack_ms),
                _p(fast.ack_ms) if fast else "-",
                _verdict(holds),
                _p(stats.e2e_post_ms) if command == "pause" else "-",
                f"{stats.completed:,} / {stats.sent:,}",
                _problems(stats),
            ]
        )
    return [
        f"## 3. Slow Convoy ({results.convoy_delay * 1000:.0f} ms per call)",
        "",
        "Ack latency should not move: the bot acks before it calls Convoy. *holds* means slow "
        "p99 ≤ 1.5x zero-latency p99 + 2 ms. `CONVOY_TIMEOUT_SECONDS` is 1.5 as in the tests.",
        "",
        *_table(
            (
                "command",
                "load",
                "ack ms (slow)",
                "ack ms (zero latency)",
                "holds",
                "e2e → post ms",
                "done / sent",
                "problems",
            ),
            rows,
        ),
        "",
    ]


def burst_section(results: Results) -> list[str]:
    stats = results.burst
    if stats is None:
        return []
    taken = stats.acked - stats.busy
    exact = stats.completed == taken and stats.problems == 0
    return [
        f"## 4. Burst: {stats.sent // stats.runs:,} concurrent pauses of as many endpoints",
        "",
        *_table(
            ("measure", "value"),
            [
                ["all acked (wall, s)", _n(stats.ack_wall, 2)],
                ["last PUT received (wall, s)", _n(stats.put_wall, 2)],
                ["last channel post received (wall, s)", _n(stats.done_wall, 2)],
                ["ack ms", _p(stats.ack_ms)],
                ["end-to-end → post ms", _p(stats.e2e_post_ms)],
                [
                    f"refused as busy in the ack (CONVOY_BOT_MAX_PENDING), over {stats.runs} "
                    "run(s); of those, written or told about anyway",
                    f"{stats.busy:,} of {stats.sent:,}; {stats.refused_yet_acted}",
                ],
                [
                    f"taken on and paused exactly once, over {stats.runs} run(s)",
                    f"{stats.completed:,} / {taken:,} ({_verdict(exact)})",
                ],
                ["problems", _problems(stats)],
            ],
        ),
        "",
    ]


def cost_section(results: Results) -> list[str]:
    lines = ["## 5. Cost per command", ""]
    rows: list[list[str]] = []
    for label, key in (("pause at 50/s", "50/s"), ("pause at 200/s", "200/s")):
        stats = results.ack.get(("ours", "pause", key))
        if stats:
            rows.append(
                [
                    label,
                    _n(stats.redis_per_command.get(TRIPS, math.nan), 2),
                    _redis_breakdown(stats),
                    ", ".join(f"{k} {_n(v, 2)}" for k, v in stats.convoy_per_command.items()),
                ]
            )
    if results.burst:
        stats = results.burst
        rows.append(
            [
                "pause, burst",
                _n(stats.redis_per_command.get(TRIPS, math.nan), 2),
                _redis_breakdown(stats),
                ", ".join(f"{k} {_n(v, 2)}" for k, v in stats.convoy_per_command.items()),
            ]
        )
    lines += [
        "Per successful pause, from Redis `INFO` deltas (the harness's own `INFO` taken out): "
        "round trips are reply writes (`total_writes_processed`: a pipeline is one), commands "
        "come from `commandstats` (new connections add `hello` and `client`). Convoy calls "
        "from the fake's records. Pauses name the endpoint by uid (by name the bot would also "
        "search the endpoint list).",
        "",
        *_table(("run", "Redis round trips", "Redis commands", "Convoy calls"), rows),
        "",
    ]
    memory = results.memory
    if memory:
        lines += _table(
            ("RSS of the bot process (VmRSS)", "MiB"),
            [
                ["idle, just started", _n(memory.cold_kib / MB)],
                [f"after a warm-up of {memory.warmup_commands} commands", _n(memory.warm_kib / MB)],
                [
                    f"after {memory.commands.sent:,} more (status and pause by uid, alternating)",
                    _n(memory.after_kib / MB),
                ],
                ["growth from idle", _n((memory.after_kib - memory.cold_kib) / MB)],
                ["growth after warm-up", _n((memory.after_kib - memory.warm_kib) / MB)],
            ],
        )
        lines += [
            "",
            f"Those commands were sent open loop at {_n(memory.commands.ack_rate, 0)}/s: "
            f"{memory.commands.completed:,} done, problems: "
            f"{_problems(memory.commands)}.",
            "",
        ]
    return lines


def scale_section(results: Results) -> list[str]:
    rows: list[list[str]] = []
    for load in dict.fromkeys(load for _, load in results.scale):
        one, two = results.scale.get((1, load)), results.scale.get((2, load))
        if not one or not two:
            continue
        rows.append(
            [
                load,
                f"{_n(one.done_rate, 0)} / {_n(two.done_rate, 0)}",
                _n(_ratio(two.done_rate, one.done_rate), 2),
                f"{_n(one.e2e_post_ms[0], 0)} / {_n(two.e2e_post_ms[0], 0)}",
                f"{_n(one.e2e_post_ms[2], 0)} / {_n(two.e2e_post_ms[2], 0)}",
                f"{_n(one.ack_ms[2])} / {_n(two.ack_ms[2])}",
                _problems(one) + " / " + _problems(two),
            ]
        )
    return [
        "## 6. Scale-out: two bot processes sharing one Redis",
        "",
        "Open loop at a rate above what one bot sustains, requests alternating between the "
        "bots (two ports); *done/s* counts pauses applied exactly once and announced. Nothing "
        "is pinned here, so on 2 cores the second bot competes with the load generator, the "
        "fakes and Redis: this shows what a second process gives on this machine.",
        "",
        *_table(
            (
                "load",
                "done/s 1 / 2 bots",
                "ratio",
                "e2e p50 ms 1 / 2",
                "e2e p99 ms 1 / 2",
                "ack p99 ms 1 / 2",
                "problems 1 / 2",
            ),
            rows,
        ),
        "",
    ]


def authorize_section(results: Results) -> list[str]:
    if not results.authorize:
        return []
    return [
        "## 8. Many workspaces: authorizing a request",
        "",
        "A bot installed in many workspaces finds each request's token before its listener "
        "runs. Bolt's default asks Slack (`auth.test`) on every request; the bot's own "
        "(`handlers/installs.py::StoredAuthorize`) reads the installation from Redis at most "
        "once per 30 s per process and asks Slack nothing (`bench/authorize.py`, in one "
        "process, over the bot's Redis installation store and the fake Slack on loopback).",
        "",
        *results.authorize,
        "",
    ]


def cluster_section(results: Results) -> list[str]:
    if not results.cluster:
        return []
    cpus = len(results.cores.everything)
    rows = [
        [
            str(count),
            str(cpus),
            _n(stats.done_rate, 0),
            _n(stats.e2e_post_ms[0], 0),
            _n(stats.e2e_post_ms[2], 0),
            _n(stats.ack_ms[2]),
            _problems(stats),
        ]
        for count, stats in sorted(results.cluster.items())
    ]
    return [
        "## 7. Replicas on a Redis Cluster",
        "",
        f"{results.cluster_load}, open loop, requests spread over one, two and three bot "
        "processes sharing a Redis Cluster of three masters with a replica each (Valkey 8.1, "
        "on the same machine); *done/s* counts pauses applied exactly once and announced. "
        "Every process (bots, six Redis nodes, fakes, load) shares the cores counted here: "
        "this shows that replicas on a cluster stay correct and what they cost on one "
        "machine, not what more machines give.",
        "",
        *_table(
            ("bots", "cores", "done/s", "e2e p50 ms", "e2e p99 ms", "ack p99 ms", "problems"),
            rows,
        ),
        "",
    ]


def all_runs(results: Results) -> dict[str, RunStats]:
    """Every group of runs, named for a reader."""
    named = {f"{t} `{c}` {load}": v for (t, c, load), v in results.ack.items()}
    named |= {f"slow Convoy `{c}` {load}": v for (c, load), v in results.slow.items()}
    named |= {f"scale-out {n} bot(s) {load}": v for (n, load), v in results.scale.items()}
    named |= {f"cluster {n} bot(s) {results.cluster_load}": v for n, v in results.cluster.items()}
    if results.burst:
        named["burst"] = results.burst
    if results.memory:
        named["memory run"] = results.memory.commands
    return named


def incidents_section(results: Results) -> list[str]:
    if not results.incidents:
        return []
    return [
        "## Incidents",
        "",
        "After a run with failures the bench sends the bot two `/convoy status` commands "
        "(zero-latency Convoy) to see whether it still works, then replaces it with a fresh "
        "process either way, so that every run starts from a bot without earlier damage.",
        "",
        *[f"- {n}x {incident}" for incident, n in results.incidents.most_common()],
        "",
    ]


def examples_section(results: Results) -> list[str]:
    runs = all_runs(results)
    doubled = sum(stats.double_writes for stats in runs.values())
    exactly_once = (
        f"Endpoints that received more than one `PUT …/pause`, over every run: {doubled}."
    )
    rows = [
        [name, _problems(stats), "<br>".join(f"`{e}`" for e in stats.examples) or "-"]
        for name, stats in runs.items()
        if stats.problems
    ]
    if not rows:
        return [
            "## Unexpected outcomes",
            "",
            f"None: every command was acked and done. {exactly_once}",
            "",
        ]
    return [
        "## Unexpected outcomes",
        "",
        "Runs where a command was refused, lost, or its work ended in a private error or "
        f"without exactly one pause; with the first replies the caller got. {exactly_once}",
        "",
        *_table(("runs", "problems", "examples"), rows),
        "",
    ]


def log_section(results: Results) -> list[str]:
    if not results.log_lines:
        return [
            "## Logs",
            "",
            "No warnings or errors in the logs of the bots, baseline, fakes or load generator.",
            "",
        ]
    rows = [[str(n), f"`{line[:160]}`"] for line, n in results.log_lines.most_common(15)]
    return [
        "## Logs",
        "",
        "Warning and error lines in the children's logs, all processes of a kind together "
        "(timestamps and endpoint uids stripped):",
        "",
        *_table(("count", "line"), rows),
        "",
    ]


def method_section() -> list[str]:
    return [
        "## Method",
        "",
        "- The bot runs as `python -m bot serve` (HTTP mode), started exactly as "
        "`tests/harness.py` starts it (with `CONVOY_BOT_SLACK_RATE_LIMITS=false`: the rows "
        "measure the bot, not Slack's pace of a few hundred posts a minute per workspace), "
        "against a real `redis-server` (also as the tests start "
        "it). The baseline is `bench/baseline_app.py`: a bare `AsyncApp` whose `/convoy` "
        "listener only calls `ack()`, on Starlette + uvicorn with the bot's uvicorn options, "
        "Bolt's signing verification and `process_before_response=True`.",
        "- Requests are built and signed by `tests/slack_requests.py` in a separate "
        "load-generator process (`bench/load.py`, aiohttp, keep-alive). They rotate over 5,000 "
        "users granted the operator role through `bot.access.roles.RoleStore`, so a per-user "
        "change limit never decides a result. Each command has its own response URL and "
        "channel id, so the fakes' receipts join back to it.",
        "- The fakes run in their own process (`bench/fakes.py`): the tests' fake Convoy "
        "(`tests/fakes/convoy.py`) with its OpenAPI contract check off (it costs about 1.6 ms "
        "of CPU per request), and a lean fake Slack. Receipt times use `time.monotonic()` "
        "(CLOCK_MONOTONIC, the same clock in every process).",
        "- Every fixed-rate and saturation row interleaves ours and the baseline run by run. "
        "Each pause goes to its own fresh endpoint, so it always is a real pause.",
        "- Timing thresholds are reported, never asserted: only `--quick` exits non-zero, and "
        "only when something is broken (a refused or lost request, a pause not applied exactly "
        "once).",
    ]
