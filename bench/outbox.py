"""Outbox delivery rate: items/s from the outbox to a local record system, by 1..k worker processes.

    .venv/bin/python -m bench.outbox                          # SQLite in a temp dir, 2,000 items, 1 worker
    .venv/bin/python -m bench.outbox --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox \
        --workers 1 2 4

Per target (`network-json`: a small receiver that keeps one record per Idempotency-Key, in its own
process; `fhir`: a second Samenzorg served by gunicorn over its own SQLite, receiving conditional
creates) and per worker count: the items are written as a daughter's logbook messages (through
the repository, outbox rows in the same transactions), then `samenzorg worker --once` processes
start together and the clock runs until the last one has exited with every item delivered. The
receiver's count is checked against the outbox: each item arrived exactly once.
Results go to bench/results/<date>-outbox-<db>-<label>.md.
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _env(database_url: str, config: str, var: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMENZORG_")}
    env.update(SAMENZORG_DATABASE_URL=database_url, SAMENZORG_CONFIG=config, SAMENZORG_VAR_DIR=str(var),
               SAMENZORG_LOG_LEVEL="WARNING", **extra)
    return env


def _wait(url: str, proc: subprocess.Popen, what: str, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer within {deadline} s")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _network(settings, engine) -> None:
    from gateway.loading import in_transaction

    sys.path.insert(0, str(ROOT / "tests" / "gateway"))
    from outbox_world import network

    def work(ctx):
        for r in network():
            ctx.repo.update(r["resourceType"], r["id"], r)
    in_transaction(settings, engine, work)


def _write_items(settings, engine, config, n: int) -> None:
    """n logbook messages by the daughter, 200 per transaction, each with its outbox row."""
    from gateway.access import Access
    from gateway.outbox import WriteBack
    from gateway.repository import Repository
    from gateway.scopes import parse_scopes

    from outbox_world import message

    daughter = Access(role="related-person", fhir_user="RelatedPerson/dochter", scopes=parse_scopes("user/*.cruds"))
    write_back = WriteBack(config)
    done = 0
    while done < n:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            repo = Repository(conn, daughter)
            repo.write_back = write_back
            for i in range(done, min(n, done + 200)):
                repo.create(message(text=f"Bericht {i}."))
            repo.flush_audits()
        done = min(n, done + 200)


def _reset(engine) -> None:
    from sqlalchemy import delete, text

    from gateway.storage.tables import metadata

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


def _counts(engine) -> dict:
    from gateway.outbox.admin import counts

    with engine.connect() as conn:
        return counts(conn)


def run_once(database_url: str, target: str, target_url: str, workers: int, items: int, batch: int, concurrency: int,
             home: Path, analyze: bool = True) -> dict:
    from connectors.config import load_config
    from gateway.config import Settings
    from gateway.storage.db import make_engine

    if target == "fhir":
        body = (f'[sources.ecd-oost]\nkind = "fhir"\nbase_url = "{target_url}"\n'
                'auth = { type = "bearer", token_env = "BENCH_UPSTREAM_TOKEN" }\n')
    else:
        body = f'[sources.ecd-oost]\nkind = "network-json"\nbase_url = "{target_url}"\n'
    config_path = home / f"samenzorg-{target}.toml"
    config_path.write_text(body)
    settings = Settings(database_url=database_url, var_dir=str(home / "var"), jwt_secret="bench-local")
    engine = make_engine(database_url)
    _reset(engine)
    _network(settings, engine)
    _write_items(settings, engine, load_config(config_path), items)
    if engine.dialect.name == "postgresql" and analyze:
        # Fresh planner statistics, as autovacuum keeps them in a running system. Right after the
        # TRUNCATE and a burst of 2,000 rows they say "no pending rows", and the claim's anti-join
        # runs as a scan per row (see bench/results: --no-analyze measures that case).
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE outbox")
    env = _env(database_url, str(config_path), home / "var", BENCH_UPSTREAM_TOKEN=os.environ.get("BENCH_UPSTREAM_TOKEN", ""))
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--once", "--idle", "0",
                               "--batch", str(batch), "--concurrency", str(concurrency)], env=env, cwd=home,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - start
    counts = _counts(engine)
    engine.dispose()
    if any(codes) or counts["delivered"] != items:
        raise SystemExit(f"run failed: exit codes {codes}, outbox {counts}")
    return {"target": target, "workers": workers, "items": items, "seconds": seconds, "rate": items / seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("SAMENZORG_BENCH_DATABASE_URL"),
                        help="default: SQLite in a temporary folder (one worker)")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4, help="pushes in flight per worker")
    parser.add_argument("--targets", nargs="+", default=["network-json", "fhir"], choices=["network-json", "fhir"])
    parser.add_argument("--label", default="run")
    parser.add_argument("--no-analyze", action="store_true",
                        help="PostgreSQL: claim with the statistics left by the TRUNCATE (a burst before autovacuum)")
    args = parser.parse_args(argv)

    from gateway.auth import mint
    from gateway.config import Settings
    from gateway.storage.db import upgrade

    with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
        home = Path(tmp)
        database_url = args.database_url or f"sqlite:///{home / 'outbox.db'}"
        upgrade(database_url)
        upstream_secret = secrets.token_urlsafe(32)
        os.environ["BENCH_UPSTREAM_TOKEN"] = mint(Settings(jwt_secret=upstream_secret), scope="system/*.cruds",
                                                  client_id="bench-outbox")
        servers, rows = [], []
        try:
            urls = {}
            if "network-json" in args.targets:
                port = _free_port()
                servers.append(subprocess.Popen([sys.executable, "-m", "bench.receiver", str(port)], cwd=ROOT))
                urls["network-json"] = f"http://127.0.0.1:{port}"
                _wait(f"{urls['network-json']}/count", servers[-1], "the receiver")
            if "fhir" in args.targets:
                up = home / "upstream"
                up.mkdir()
                env = _env(f"sqlite:///{up / 'upstream.db'}", "", up / "var", SAMENZORG_JWT_SECRET=upstream_secret)
                env.pop("SAMENZORG_CONFIG")
                subprocess.run([sys.executable, "-m", "gateway.cli", "db", "upgrade"], env=env, cwd=up, check=True,
                               stdout=subprocess.DEVNULL)
                port = _free_port()
                servers.append(subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
                                                env=env, cwd=up, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                urls["fhir"] = f"http://127.0.0.1:{port}/fhir"
                _wait(f"http://127.0.0.1:{port}/healthz", servers[-1], "the FHIR upstream")
            for target in args.targets:
                for workers in args.workers:
                    row = run_once(database_url, target, urls[target], workers, args.items, args.batch, args.concurrency, home,
                                   not args.no_analyze)
                    print(f"{target:<13} {workers} worker(s): {row['items']} items in {row['seconds']:.1f} s = "
                          f"{row['rate']:.0f} items/s", flush=True)
                    rows.append(row)
            if "network-json" in urls:
                received = requests.get(f"{urls['network-json']}/count", timeout=5).json()
                print(f"receiver: {received['requests']} requests, {received['stored']} records", flush=True)
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(timeout=30)
        db = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        _report(rows, db, args)
    return 0


def _report(rows: list[dict], db: str, args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{date.today().isoformat()}-outbox-{db}-{args.label}.md"
    lines = [f"# Outbox delivery, {db}, {args.items} items per run ({args.label})", "",
             f"`python -m bench.outbox {' '.join(sys.argv[1:])}` on this machine ({os.cpu_count()} cores, shared).",
             "Each item: a daughter's logbook message; workers are `samenzorg worker --once` processes started "
             f"together (claim batch {args.batch}, {args.concurrency} pushes in flight each); the clock stops when the last exits with all delivered.", "",
             "| target | workers | items | seconds | items/s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['target']} | {r['workers']} | {r['items']} | {r['seconds']:.1f} | {r['rate']:.0f} |" for r in rows]
    path.write_text("\n".join(lines) + "\n")
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
