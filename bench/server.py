"""The servers under test, each a gunicorn master in its own process on 127.0.0.1.

Samenzorg runs through its own CLI, `samenzorg serve` (gateway/cli.py), with
its default workers and threads; the ceiling (bench/ceiling.py) runs under the
same gunicorn settings. Workers are watched through /proc: resident memory
(sampled while a scenario runs) and CPU time.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    except (OSError, IndexError):
        return 0.0


class Server:
    """A started gunicorn master; `workers` are its children."""

    def __init__(self, name: str, argv: list[str], env: dict, workers: int, log: Path, cwd: Path):
        self.name, self.port, self.expected_workers = name, free_port(), workers
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = open(log, "ab")
        self.proc = subprocess.Popen([*argv, "--port", str(self.port)], env=env, cwd=cwd,
                                     stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: {self.name} exited at start (code {self.proc.returncode}); "
                                 f"its log:\n{self.log.read_text()[-3000:]}")
            if len(self.workers()) >= self.expected_workers:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"bench: {self.name} did not answer on port {self.port} within {timeout:.0f} s")

    def workers(self) -> list[int]:
        return _children(self.proc.pid)

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.workers())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # gunicorn: graceful shutdown of the workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()

    def settle(self, database_cpu=None, timeout: float = 30.0, idle: float = 0.1) -> None:
        """Wait (at most `timeout` s) until the workers, and the database backends, are idle: requests a
        generator left in flight when it stopped (wrk does) must not run into the next measurement."""
        deadline = time.monotonic() + timeout
        busy = lambda: self.cpu_seconds() + (database_cpu() if database_cpu else 0.0)  # noqa: E731
        while time.monotonic() < deadline:
            before = busy()
            time.sleep(0.25)
            if (busy() - before) / 0.25 < idle:
                return

    @contextmanager
    def watch(self, database_cpu=None):
        """While the block runs, sample each worker's RSS; yields a dict filled in on exit with
        `peak_rss_mb` (the largest worker), `cpu_cores` (workers' CPU seconds per second), `worker_cores`
        (the same per worker: keep-alive connections stay with the worker that accepted them) and, given
        database_cpu() (CPU seconds of the database's processes), `db_cpu_cores`."""
        stats: dict = {}
        peak = [0.0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max([peak[0], *(_rss_mb(p) for p in self.workers())])
                stop.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        workers = self.workers()
        per_worker0 = [cpu_seconds(pid) for pid in workers]
        cpu0, t0 = self.cpu_seconds(), time.perf_counter()
        db0 = database_cpu() if database_cpu else None
        sampler.start()
        try:
            yield stats
        finally:
            stop.set()
            sampler.join()
            elapsed = time.perf_counter() - t0
            stats["peak_rss_mb"] = peak[0]
            stats["cpu_cores"] = (self.cpu_seconds() - cpu0) / elapsed if elapsed else 0.0
            stats["worker_cores"] = [(cpu_seconds(pid) - c0) / elapsed if elapsed else 0.0
                                     for pid, c0 in zip(workers, per_worker0)]
            stats["db_cpu_cores"] = (database_cpu() - db0) / elapsed if db0 is not None and elapsed else None


def samenzorg(database_url: str, secret: str, workers: int, threads: int, tmp: Path) -> Server:
    """`samenzorg serve` with the bench's database and secret; run in tmp (no .env, var/ there)."""
    env = {**os.environ, "SAMENZORG_DATABASE_URL": database_url, "SAMENZORG_JWT_SECRET": secret,
           "SAMENZORG_VAR_DIR": str(tmp / "var")}
    argv = [sys.executable, "-m", "gateway.cli", "serve", "--workers", str(workers), "--threads", str(threads)]
    return Server("samenzorg", argv, env, workers, tmp / "samenzorg.log", cwd=tmp)


def ceiling(files: Path, workers: int, threads: int, tmp: Path) -> Server:
    argv = [sys.executable, "-m", "bench.ceiling", "--files", str(files),
            "--workers", str(workers), "--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return Server("ceiling", argv, env, workers, tmp / "ceiling.log", cwd=REPO)
