"""Real gateway processes in tests: the `samenzorg` command and a served API.

Each waits with a deadline, never forever, and a process that misses it
fails the test with the process' own output. While a server starts, every
request error (refused connection, read timeout on a loaded machine, a reset)
means "not yet", not a test error.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

START_DEADLINE = 60.0  # seconds; a loaded CI machine may need more than a few


def run_cli(*args: str, env: dict, cwd=None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`samenzorg <args>` to completion; past the deadline the test fails with what it printed."""
    try:
        return subprocess.run([sys.executable, "-m", "gateway.cli", *args], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"samenzorg {' '.join(args)} ran past {timeout} s:\n{_text(exc.stdout)}{_text(exc.stderr)}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(env: dict, cwd: Path, *args: str, deadline: float = START_DEADLINE, port: int | None = None):
    """`samenzorg serve` on a free port (or `port`); yields its base URL once /healthz answers 200."""
    port = port or free_port()
    log_path = Path(cwd) / f"server-{port}.log"
    with open(log_path, "w") as log:  # a file, not a pipe: a chatty server can never block on it
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), *args],
                                env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(proc, lambda: requests.get(f"{base}/healthz", timeout=2).status_code == 200,
                   log_path, "the server to answer /healthz", deadline)
        yield base
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM, and SIGKILL if it is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)


def wait_until(proc: subprocess.Popen, ready, log_path: Path, what: str, deadline: float) -> None:
    """Poll `ready()` until it is true; fail with the process' output if it exits or the deadline passes."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"the process exited ({proc.returncode}) while waiting for {what}:\n{log_path.read_text()}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.terminate()
    proc.wait(timeout=20)
    pytest.fail(f"waited {deadline} s for {what}:\n{log_path.read_text()}")


def _text(output) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""
