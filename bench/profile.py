"""Where a process's CPU goes while a run loads it: py-spy samples it, and each sample is put
on the library that caused it (the innermost frame of a known package; the event loop and
the rest of the standard library when none is below)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# The first that matches a frame's file names its place (order matters: `slack_bolt/` before
# `bot/`, which it does not contain, but which a looser pattern could take).
PLACES = (
    ("Bolt (dispatch, middleware, request parsing)", re.compile(r"slack_bolt/")),
    ("slack_sdk (Web API client, signatures)", re.compile(r"slack_sdk/")),
    ("aiohttp (Slack's HTTP client)", re.compile(r"aiohttp/")),
    ("httpx / httpcore (Convoy, webhooks)", re.compile(r"http(x|core)/")),
    ("uvicorn / starlette (the server)", re.compile(r"(uvicorn|starlette)/")),
    ("HTTP parsing (h11, httptools)", re.compile(r"(h11|httptools)/")),
    ("redis-py", re.compile(r"(^|/)redis/")),
    ("pydantic", re.compile(r"pydantic(_core)?/")),
    ("prometheus_client", re.compile(r"prometheus_client/")),
    ("the bot's handlers/ (listeners, Block Kit)", re.compile(r"(^|/)handlers/")),
    ("the bot's bot/ (use cases, stores)", re.compile(r"(^|/)bot/")),
)
REST = "event loop and the rest of the standard library"
_FRAME_FILE = re.compile(r"\(([^():]+):\d+\)$")


@dataclass
class Profile:
    """Samples by place, and the CPU seconds the process used while they were taken."""

    samples: Counter[str]
    cpu_seconds: float
    commands: int  # commands completed while sampled

    def ms_per_command(self) -> dict[str, float]:
        """CPU milliseconds per completed command, by place, largest first."""
        total = sum(self.samples.values())
        if not total or not self.commands:
            return {}
        per = self.cpu_seconds * 1000 / self.commands
        return {place: per * n / total for place, n in self.samples.most_common()}


def py_spy() -> str | None:
    """py-spy beside this interpreter (the venv's, installed with the test extras), or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def available() -> bool:
    return py_spy() is not None


class Sampler:
    """py-spy recording one process from now until `stop` (at most `seconds`)."""

    def __init__(self, pid: int, out: Path, seconds: float = 600) -> None:
        self.out = out
        self.process = subprocess.Popen(  # noqa: S603  # py-spy from the venv, our own pid
            [
                py_spy() or "py-spy",
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                "250",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> Counter[str]:
        """Stop py-spy (it writes its samples on SIGINT); the samples by place (none if it
        failed)."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not self.out.exists():
            return Counter()
        return places(self.out.read_text(errors="replace"))


def places(raw: str) -> Counter[str]:
    """py-spy's raw (collapsed) stacks, `frame;frame;… count` per line, summed by place."""
    found: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        found[place_of(stack.split(";"))] += int(count)
    return found


def place_of(frames: list[str]) -> str:
    """The place of the innermost frame that belongs to a known package."""
    for frame in reversed(frames):
        file = _FRAME_FILE.search(frame)
        if file is None:
            continue
        for place, pattern in PLACES:
            if pattern.search(file.group(1)):
                return place
    return REST
