"""The benchmark's child processes: starting them, pinning them to cores, reading CPU and RSS."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import IO, Any

import httpx

from bench.protocol import LoadJob, LoadResult
from tests.fakes.loopback import free_port
from tests.harness import BotProcess, eventually, start_bot

REPO = Path(__file__).resolve().parent.parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cores:
    """Which CPUs run the system under test (one bot or the baseline) and which the harness."""

    sut: frozenset[int]
    harness: frozenset[int]

    @property
    def everything(self) -> frozenset[int]:
        return self.sut | self.harness

    @classmethod
    def split(cls) -> Cores:
        """The first CPU for the system under test, the others for load, fakes and Redis."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(frozenset(cpus), frozenset(cpus))
        return cls(frozenset(cpus[:1]), frozenset(cpus[1:]))

    @property
    def pinned(self) -> bool:
        return self.sut != self.harness


@contextmanager
def pinned_to(cpus: Iterable[int]) -> Iterator[None]:
    """Run the block on these CPUs; processes started inside it inherit them."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(cpus))
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def set_affinity(pid: int, cpus: Iterable[int]) -> None:
    """Move every thread of a running process onto these CPUs."""
    wanted = set(cpus)
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task.name), wanted)


def rss_kib(pid: int) -> int:
    """The process's resident set size (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def snapshot_code(into: Path) -> Path:
    """Copy the project's packages (pyproject's package patterns) as they are now.

    Bots started from the copy (PYTHONPATH comes before the editable install) all run the same
    code even if someone edits the tree while the benchmark runs.
    """
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns: list[str] = config["tool"]["setuptools"]["packages"]["find"]["include"]
    for folder in sorted(REPO.iterdir()):
        if (folder / "__init__.py").is_file() and any(fnmatch(folder.name, p) for p in patterns):
            shutil.copytree(
                folder, into / folder.name, ignore=shutil.ignore_patterns("__pycache__")
            )
    return into


def export_commit(revision: str, into: Path) -> Path:
    """The bot's packages as they were at `revision` (a reference bot runs from them), or
    a RuntimeError when git cannot give them (a shallow clone, say)."""
    archive = subprocess.run(  # noqa: S603  # a read-only git query
        ["git", "archive", "--format=tar", revision, "bot", "handlers"],  # noqa: S607  # git from PATH
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {revision}: {archive.stderr.decode(errors='replace')}")
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def _log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Fakes:
    """bench/fakes.py in its own process, and the client for its /_bench control routes."""

    def __init__(self, workdir: Path, project: str, api_key: str) -> None:
        self.convoy_port, self.slack_port = free_port(), free_port()
        self.convoy_url = f"http://127.0.0.1:{self.convoy_port}"
        self.slack_url = f"http://127.0.0.1:{self.slack_port}"
        self.log_path = workdir / "fakes.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "bench.fakes",
                    f"--convoy-port={self.convoy_port}",
                    f"--slack-port={self.slack_port}",
                    f"--project={project}",
                    f"--api-key={api_key}",
                ],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.http = httpx.Client(base_url=f"{self.convoy_url}/_bench", timeout=60)

        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"the fakes exited at start-up:\n{_log_tail(self.log_path)}")
            try:
                self.http.get("/ping").raise_for_status()
                httpx.get(f"{self.slack_url}/ping", timeout=1).raise_for_status()
            except httpx.HTTPError:
                return False
            return True

        eventually(answers, timeout=30, what="the fakes to answer")

    def reset(self, endpoints: int, delay: float = 0.0) -> list[str]:
        """Forget all receipts; make `endpoints` fresh active endpoints; their uids."""
        answer = self.http.post("/reset", json={"endpoints": endpoints, "delay": delay})
        uids: list[str] = answer.raise_for_status().json()["uids"]
        return uids

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = self.http.get("/counts").raise_for_status().json()
        return counted

    def snapshot(self) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get("/snapshot").raise_for_status().json()
        return found

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_baseline(env: dict[str, str], workdir: Path) -> BotProcess:
    """bench/baseline_app.py as a child process, started as the tests start the bot."""
    return start_bot({**env, "PYTHONPATH": str(REPO)}, workdir, ("bench.baseline_app",), "baseline")


class LoadWorker:
    """bench/load.py as a long-lived child process: one job per line in, one result per line out."""

    def __init__(self, workdir: Path) -> None:
        self.log_path = workdir / "load.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "bench.load"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        return self.process.stdin, self.process.stdout

    def run(self, job: LoadJob) -> LoadResult:
        stdin, stdout = self._pipes()
        stdin.write(job.model_dump_json() + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the load generator died:\n{_log_tail(self.log_path)}")
        return LoadResult.model_validate_json(line)

    def stop(self) -> None:
        stdin, _ = self._pipes()
        stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
