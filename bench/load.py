"""Closed-loop load generators: `wrk` with bench/requests.lua, or a Python one.

Both take the same scenario: a list of `Request`s, one picked at random for
each request sent, over a fixed number of keep-alive connections to
127.0.0.1, each sending its next request when the last answer is in. A body
may hold `@SEQ@`, replaced per request by a value unique in the run (so a
transaction can create new resources every time).

The Python generator runs `processes` processes of connections/processes
threads each, on raw sockets with the requests encoded once; its CPU use is
reported so a run can show whether it kept up (compare it with wrk on the
ceiling).
"""
from __future__ import annotations

import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from array import array
from dataclasses import dataclass
from pathlib import Path

SEQ = b"@SEQ@"
LUA = Path(__file__).with_name("requests.lua")
WRK_INSTALL = "apt-get install wrk"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # absolute path on the server, e.g. /fhir/CarePlan/1
    token: str | None = None
    body: bytes | None = None


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non_2xx: int  # answers outside 2xx, plus requests that got no answer
    socket_errors: int
    generator_cpu: float  # CPU seconds per second of the generator (1.0 = one core busy)
    statuses: dict | None = None  # status -> count (Python generator only)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_path() -> str | None:
    return shutil.which("wrk")


def percentile(sorted_values, p: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0 for none)."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


# --- wrk -------------------------------------------------------------------------------------------

def write_requests(requests: list[Request], path: Path) -> None:
    """The file requests.lua reads: method, path, token, body length, body, per request."""
    with open(path, "wb") as f:
        for r in requests:
            body = r.body or b""
            f.write(f"{r.method}\n{r.path}\n{r.token or ''}\n{len(body)}\n".encode() + body + b"\n")


def run_wrk(port: int, requests: list[Request], seconds: float, connections: int,
            timeout: float = 30.0) -> Result:
    with tempfile.TemporaryDirectory(prefix="samenzorg-wrk-") as tmp:
        spec = Path(tmp) / "requests.txt"
        write_requests(requests, spec)
        argv = [wrk_path() or "wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                f"--timeout={timeout:g}s", "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(spec),
                uuid.uuid4().hex[:8]]
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout + 30)
        wall = time.perf_counter() - t0
        cpu = _children_cpu() - cpu0
    match = re.search(r"BENCH-RESULT (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)", out.stdout)
    if out.returncode or not match:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout[-500:]}")
    n, duration_us, non_2xx, errors, p50, p95, p99 = (float(x) for x in match.groups())
    # wrk counts answers >= 400 as status errors; no 1xx/3xx answer is expected here
    return Result(int(n), duration_us / 1e6, p50 / 1000, p95 / 1000, p99 / 1000, int(non_2xx + errors),
                  int(errors), cpu / wall)


# --- Python ----------------------------------------------------------------------------------------

def _encode(r: Request, port: int) -> tuple[bytes, bytes | None]:
    """(the request's bytes, or its head without Content-Length when the body is a template; the body)."""
    head = f"{r.method} {r.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/fhir+json\r\n"
    if r.token:
        head += f"Authorization: Bearer {r.token}\r\n"
    if r.body is None:
        return (head + "\r\n").encode(), None
    head += "Content-Type: application/fhir+json\r\n"
    if SEQ in r.body:
        return head.encode(), r.body
    return (head + f"Content-Length: {len(r.body)}\r\n\r\n").encode() + r.body, None


class _Conn:
    def __init__(self, port: int, timeout: float):
        self.port, self.timeout = port, timeout
        self.sock: socket.socket | None = None
        self.buf = b""

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        return data

    def exchange(self, data: bytes) -> int:
        """Send one request, read its whole answer; its status."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buf = b""
        self.sock.sendall(data)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self.buf += self._recv()
        head, self.buf = self.buf[:end].decode("latin-1").lower(), self.buf[end + 4:]
        status = int(head[9:12])
        close = "connection: close" in head
        if "transfer-encoding: chunked" in head:
            while True:
                while (eol := self.buf.find(b"\r\n")) < 0:
                    self.buf += self._recv()
                size = int(self.buf[:eol].split(b";")[0], 16)
                while len(self.buf) < eol + 2 + size + 2:
                    self.buf += self._recv()
                self.buf = self.buf[eol + 2 + size + 2:]
                if size == 0:
                    break
        else:
            m = re.search(r"content-length: *(\d+)", head)
            length = int(m.group(1)) if m else 0
            while len(self.buf) < length:
                self.buf += self._recv()
            self.buf = self.buf[length:]
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _thread_loop(port, encoded, deadline, timeout, tag, latencies, statuses, errors):
    rng = random.Random(tag)
    conn = _Conn(port, timeout)
    seq = 0
    try:
        while (t0 := time.perf_counter()) < deadline:
            data, template = rng.choice(encoded)
            if template is not None:
                seq += 1
                body = template.replace(SEQ, f"{tag}x{seq}".encode())
                data = data + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            try:
                status = conn.exchange(data)
            except (OSError, ValueError):
                conn.close()
                errors.append(1)
                continue
            latencies.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        conn.close()


def _process(port, encoded, start, deadline, threads, timeout, tag, pipe):
    time.sleep(max(0.0, start - time.perf_counter()))
    parts = [(array("d"), {}, []) for _ in range(threads)]
    workers = [threading.Thread(target=_thread_loop, args=(port, encoded, deadline, timeout, f"{tag}x{k}", *p))
               for k, p in enumerate(parts)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    latencies = array("d")
    statuses: dict = {}
    for lat, st, _ in parts:
        latencies.extend(lat)
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    pipe.send((latencies.tobytes(), statuses, sum(len(e) for _, _, e in parts), time.perf_counter()))
    pipe.close()


def run_python(port: int, requests: list[Request], seconds: float, connections: int,
               processes: int = 2, timeout: float = 30.0) -> Result:
    encoded = [_encode(r, port) for r in requests]
    processes = max(1, min(processes, connections))
    ctx = multiprocessing.get_context("fork")  # the encoded requests are inherited, not pickled
    start = time.perf_counter() + 0.2
    deadline = start + seconds
    run_tag = uuid.uuid4().hex[:8]
    cpu0 = _children_cpu()
    procs, pipes = [], []
    for k in range(processes):
        threads = connections // processes + (1 if k < connections % processes else 0)
        ours, theirs = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_process, args=(port, encoded, start, deadline, threads, timeout,
                                               f"{run_tag}x{k}", theirs), daemon=True)
        p.start()
        theirs.close()
        procs.append(p)
        pipes.append(ours)
    latencies = array("d")
    statuses: dict = {}
    errors, end = 0, start
    for pipe in pipes:
        raw, st, errs, finished = pipe.recv()
        part = array("d")
        part.frombytes(raw)
        latencies.extend(part)
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
        errors += errs
        end = max(end, finished)
    for p in procs:
        p.join()
    wall = max(end - start, 1e-9)
    cpu = (_children_cpu() - cpu0) / wall
    ordered = sorted(latencies)
    non_2xx = sum(v for k, v in statuses.items() if not 200 <= k < 300) + errors
    return Result(len(ordered), wall, percentile(ordered, 50) * 1000, percentile(ordered, 95) * 1000,
                  percentile(ordered, 99) * 1000, non_2xx, errors, cpu, statuses)


def run(generator: str, port: int, requests: list[Request], seconds: float, connections: int) -> Result:
    if generator == "wrk":
        return run_wrk(port, requests, seconds, connections)
    return run_python(port, requests, seconds, connections, processes=min(2, os.cpu_count() or 1))
