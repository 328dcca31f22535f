"""`make bench`: Samenzorg over real HTTP next to a bare-Flask ceiling, in one run.

1. Starts Samenzorg with `samenzorg serve` (gunicorn, its default workers and
   threads) on 127.0.0.1 over a fresh database: a SQLite file in a temp dir,
   or the empty PostgreSQL database given by --database-url (or
   SAMENZORG_BENCH_DATABASE_URL).
2. Loads a seeded dataset of --clients care networks (bench/dataset.py),
   mapped by `mappings.network_to_fhir`, as transaction Bundles POSTed by
   --load-connections clients in parallel: the "transaction import" rate.
3. Drives a closed loop of --connections connections for --seconds per
   scenario (bench/scenarios.py), with wrk when installed, else Python.
4. Stops Samenzorg, starts the ceiling (bench/ceiling.py: bare Flask, same
   gunicorn settings, the same bytes) and measures it the same way.
5. Writes bench/results/<date>-<db>-<clients>[-label].md and .png.

Everything is bounded: each scenario runs --seconds (plus --warmup), the
servers stop at the end, and nothing listens beyond 127.0.0.1.
"""
from __future__ import annotations

import argparse
import http.client
import os
import platform
import random
import secrets
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import orjson

from . import dataset, load, report, scenarios, server

RESULTS = Path(__file__).resolve().parent / "results"
ENV_URL = "SAMENZORG_BENCH_DATABASE_URL"
CHUNK = 200  # clients mapped, then loaded, at a time (the first parts smaller: see `_chunks`)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="care networks to load (default 1000)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each scenario (default 2)")
    p.add_argument("--database-url", default=os.environ.get(ENV_URL),
                   help=f"an empty PostgreSQL (or SQLite) database; default ${ENV_URL}, else SQLite in a temp dir")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections (default 8)")
    p.add_argument("--load-connections", type=int, default=4, help="parallel transactions while loading (default 4)")
    p.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                   help="load generator (auto: wrk when installed)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (samenzorg serve's default: 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (samenzorg serve's default: 4)")
    p.add_argument("--retries", type=int, default=2,
                   help="measure a scenario again when one worker did nearly all the work (default 2)")
    p.add_argument("--pool", type=int, default=2000, help="distinct requests per scenario (default 2000)")
    p.add_argument("--only", default="",
                   help="measure only the scenarios whose 'name (who)' contains this, e.g. create (the ceiling always)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--label", default="", help="added to the result file names, e.g. smoke")
    p.add_argument("--out", type=Path, default=RESULTS, help="where the .md and .png go (default bench/results)")
    return p.parse_args(argv)


# --- the database ----------------------------------------------------------------------------------

def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def prepare_database(url: str) -> str:
    """Check the database is reachable and empty, migrate it; its engine and version as text."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import OperationalError

    from gateway.storage.db import upgrade

    is_pg = url.startswith("postgresql")
    engine = create_engine(url, connect_args={"connect_timeout": 5} if is_pg else {})
    try:
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one() if is_pg else sqlite3.sqlite_version
            for table in inspect(conn).get_table_names():
                if table != "alembic_version" and conn.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first():
                    raise SystemExit(
                        f"bench: the database at {_safe(url)} is not empty (table {table} has rows); the bench "
                        "loads thousands of networks into it. Give it a new, empty database, e.g.\n"
                        "  createdb -h 127.0.0.1 -U postgres samenzorg_bench\n"
                        "  make bench ARGS='--database-url postgresql+psycopg://postgres@127.0.0.1:5432/samenzorg_bench'")
    except OperationalError as exc:
        raise SystemExit(
            f"bench: cannot reach the database at {_safe(url)}:\n  {str(exc.orig).strip()}\n"
            "Start a PostgreSQL server, or point the bench at one that runs, with an empty database on it:\n"
            "  make bench ARGS='--database-url postgresql+psycopg://USER[:PASSWORD]@HOST:5432/DBNAME'\n"
            f"  (or set {ENV_URL}). Leave both out to bench on SQLite in a temp dir.") from None
    finally:
        engine.dispose()
    upgrade(url)
    return f"PostgreSQL {version}" if is_pg else f"SQLite {version}"


def stored_resources(url: str, table: str = "resources") -> int:
    from sqlalchemy import func, select

    from gateway.storage import tables
    from gateway.storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(getattr(tables, table))).scalar_one()
    finally:
        engine.dispose()


def statistics_while_loading(url: str):
    """(ANALYZE, or None, and what it says). On a PostgreSQL whose autovacuum is off (as on some test
    machines) the bench ANALYZEs after each part of the load (the last part ends it), as autovacuum would;
    SQLite is left as it is. Without it the import slowed sixfold within 15,000 resources (the
    planner, with no statistics, answering identifier matches by scanning), which no server with
    autovacuum on does."""
    if not url.startswith("postgresql"):
        return None, "planner statistics: none (SQLite, as Samenzorg runs it)"
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            if conn.execute(text("SHOW autovacuum")).scalar_one() == "on":
                return None, "planner statistics: left to PostgreSQL's autovacuum (on)"
    finally:
        engine.dispose()

    def analyze() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
        finally:
            engine.dispose()

    return analyze, ("planner statistics: ANALYZE after 25, 50, 100, 200 networks and every 200 after "
                     "(untimed), as autovacuum would (this server's autovacuum is off)")


class AuditSettling:
    """The audit records the measured requests appended, settled into AuditEvents by a read of them
    before each scenario that reads AuditEvents (`$everything`) and at the end: the work a carer's
    read leaves for later (gateway/audit_store.py), timed apart so it is neither hidden nor charged
    to whichever scenario happens to read AuditEvents first."""

    def __init__(self, http: "Http", token: str, url: str):
        self.http, self.token, self.url = http, token, url
        self.records, self.seconds = 0, 0.0

    def __call__(self) -> None:
        pending = stored_resources(self.url, "audit_log")
        started = time.perf_counter()
        status, body = self.http("GET", "/fhir/AuditEvent?_count=1&_total=none", self.token)
        if status != 200:
            raise SystemExit(f"bench: reading AuditEvents answered {status}: {body[:500]!r}")
        self.seconds += time.perf_counter() - started
        self.records += pending

    def line(self, carer_requests: int) -> str:
        rate = f"{self.records / self.seconds:,.0f}" if self.seconds else "–"
        return (f"audit log: {self.records:,} audit records appended by the measured requests, settled into "
                f"AuditEvents in {self.seconds:.1f} s ({rate} records/s, one request at a time); that is "
                f"{self.seconds / max(carer_requests, 1) * 1000:.2f} ms of work put off per carer request")


class PostgresCpu:
    """CPU seconds the database's PostgreSQL backends have used, for a server on this machine
    (read from /proc; backends that exit keep the CPU they were last seen with)."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine

        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        self.conn = self.engine.connect()
        self.seen: dict[int, float] = {}

    def __call__(self) -> float:
        from sqlalchemy import text

        pids = self.conn.execute(text("SELECT pid FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalars()
        for pid in pids:
            self.seen[pid] = max(self.seen.get(pid, 0.0), server.cpu_seconds(pid))
        return sum(self.seen.values())

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()

    @staticmethod
    def local(url: str) -> bool:
        from sqlalchemy.engine import make_url

        return url.startswith("postgresql") and (make_url(url).host or "localhost") in ("127.0.0.1", "localhost", "::1")


# --- HTTP for set-up (not measured) ---------------------------------------------------------------

class Http:
    """One keep-alive connection per thread."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def __call__(self, method: str, path: str, token: str | None, body: bytes | None = None,
                 headers: dict | None = None) -> tuple[int, bytes]:
        h = {"Accept": "application/fhir+json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if body is not None:
            h["Content-Type"] = "application/fhir+json"
        for attempt in (1, 2):  # gunicorn closes idle keep-alive connections: retry once on a new one
            conn = getattr(self.local, "conn", None)
            fresh = conn is None
            if fresh:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                conn.request(method, path, body=body, headers=h)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _ids(response: bytes) -> list[str]:
    """The server id of each entry of a transaction response, in request order."""
    return [e["response"]["location"].split("/_history")[0].rsplit("/", 1)[1]
            for e in orjson.loads(response)["entry"]]


def _post_bundle(http: Http, token: str, bundle: bytes) -> bytes:
    status, body = http("POST", "/fhir", token, bundle, {"Prefer": "return=minimal"})
    if status != 200:
        raise SystemExit(f"bench: loading a transaction failed with {status}: {body[:2000].decode(errors='replace')}")
    return body


def load_world(http: Http, token: str, clients: int, seed: int, connections: int, log,
               after_chunk=lambda: None) -> tuple[list, dict]:
    """Load the shared pool and every client's network; the server ids per client, and load facts.
    `after_chunk` runs, untimed, after each part of the networks (`_chunks`)."""
    from mappings import network_to_fhir

    shared = orjson.dumps(dataset.shared_bundle(clients, seed))
    _post_bundle(http, token, shared)
    bsns = dataset.Bsns()
    world: list[scenarios.ClientIds] = []
    entries = bundles = 0
    seconds = 0.0
    with ThreadPoolExecutor(connections) as pool:
        for start, stop in _chunks(clients):
            chunk = [dataset.client(i, clients, seed, bsns) for i in range(start, stop)]
            mapped = [network_to_fhir(c.document) for c in chunk]
            bodies = [orjson.dumps(b) for b in mapped]
            t0 = time.perf_counter()
            answers = list(pool.map(lambda body: _post_bundle(http, token, body), bodies))
            seconds += time.perf_counter() - t0
            bundles += len(bodies)
            entries += sum(len(b["entry"]) for b in mapped)
            for c, b, answer in zip(chunk, mapped, answers):
                ids = {dataset.key_of(e): rid for e, rid in zip(b["entry"], _ids(answer))}
                world.append(_client_ids(c, ids))
            log(f"  loaded {start + len(chunk):,}/{clients:,} networks "
                f"({entries / seconds:,.0f} resources/s so far)")
            after_chunk()
    return world, {"bundles": bundles, "entries": entries, "seconds": seconds}


def _chunks(clients: int, first: int = 25) -> list[tuple[int, int]]:
    """(start, stop) of each part of the load: each as large as all before it, up to CHUNK (25, 25,
    50, 100, 200, 200, ...), so statistics gathered after each part describe tables at least half
    the size they grow to in the next, as autovacuum's analyze (every 10 % of a table) keeps them.
    Gathered once on near-empty tables and not again for 200 networks, they made PostgreSQL scan:
    the first 200 networks loaded at 80 resources/s instead of ~1,000."""
    bounds = [0]
    while bounds[-1] < clients:
        bounds.append(min(clients, bounds[-1] + min(CHUNK, max(first, bounds[-1]))))
    return list(zip(bounds, bounds[1:]))


def _client_ids(c: dataset.Client, ids: dict) -> scenarios.ClientIds:
    doc = c.document
    careplans = [ids["CarePlan", a["id"]] for a in doc["agreements"]]
    carers = [scenarios.CarerIds(ids["RelatedPerson", k.member], k.parts,
                                 [ids["CarePlan", a] for a in k.careplans]) for k in c.carers]
    return scenarios.ClientIds(ids["Patient", doc["client"]["id"]], careplans, carers)


# --- measuring -------------------------------------------------------------------------------------

def probe(http: Http, sc: scenarios.Scenario, rng: random.Random, tries: int = 3) -> tuple[list[str], bytes | None]:
    """A few of the scenario's requests, one by one: problems seen, and one 2xx answer's body."""
    problems, sample = [], None
    for r in rng.sample(sc.requests, min(tries, len(sc.requests))):
        body = r.body.replace(load.SEQ, f"probe{rng.randrange(10**9)}".encode()) if r.body else None
        status, answer = http(r.method, r.path, r.token, body)
        if 200 <= status < 300:
            sample = sample or answer
        else:
            problems.append(f"{r.method} {r.path.split('?')[0]}… → {status}: {answer[:300].decode(errors='replace')}")
    return problems, sample


def measure(srv: server.Server, generator: str, sc_name: str, who: str, requests: list, args,
            database_cpu=None) -> report.Row:
    """One row: warm up, then measure; measured again (up to --retries times) while one worker did nearly
    all the work: a worker keeps the connections it accepted, and new connections may spread better."""
    if args.warmup > 0:
        srv.settle(database_cpu)
        load.run(generator, srv.port, requests, args.warmup, args.connections)
    for attempt in range(1 + args.retries):
        srv.settle(database_cpu)
        with srv.watch(database_cpu) as stats:
            result = load.run(generator, srv.port, requests, args.seconds, args.connections)
        row = report.Row(sc_name, who, result, stats["peak_rss_mb"], stats["cpu_cores"], stats["db_cpu_cores"],
                         tuple(stats["worker_cores"]), attempts=attempt + 1)
        if not report.one_worker(row):
            break
    log(f"  {row.label:70} {result.rate:8,.0f} req/s  p95 {result.p95_ms:7.1f} ms  non-2xx {result.non_2xx}"
        + (f"  (measured {row.attempts}×)" if row.attempts > 1 else ""))
    return row


def machine_facts(db: str, generator: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    load1, load5, _ = os.getloadavg()
    gen = generator
    if generator == "wrk":
        out = subprocess.run([load.wrk_path(), "-v"], capture_output=True, text=True)
        gen = (out.stdout or out.stderr).splitlines()[0].split(" [")[0] if (out.stdout or out.stderr) else "wrk"
    from importlib.metadata import version

    return "\n".join([
        f"- nproc: {os.cpu_count()} ({cpu}); load average at start {load1:.2f} (1 min), {load5:.2f} (5 min)",
        f"- {platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"gunicorn {version('gunicorn')}; Flask {version('flask')}; SQLAlchemy {version('sqlalchemy')}",
        f"- database: {db}",
        f"- load generator: {gen}",
    ])


def main(argv=None) -> None:
    args = parse_args(argv)
    args.cmdline = shlex.join(sys.argv[1:] if argv is None else argv)
    started = datetime.now(timezone.utc)
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if load.wrk_path() else "python"
        if generator == "python":
            print(f"bench: wrk is not installed, using the Python load generator (for wrk: `{load.WRK_INSTALL}`)")
    elif generator == "wrk" and not load.wrk_path():
        raise SystemExit(f"bench: wrk is not installed; `{load.WRK_INSTALL}` (Debian), or use --generator python")
    tmp = Path(tempfile.mkdtemp(prefix="samenzorg-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    try:
        db = prepare_database(url)
        facts = machine_facts(db, generator)
        log(f"bench: {db}, {args.clients:,} clients, {args.seconds:g} s per scenario, {generator}")
        run = measure_samenzorg(args, url, generator, tmp)
        log("ceiling (bare Flask, the same bytes):")
        ceilings, generator_check = measure_ceiling(args, generator, run, tmp)
        report.relate(run.rows, ceilings, {sc.name: sc.ceiling for sc in run.plan})
        write_results(args, started, "postgresql" if url.startswith("postgresql") else "sqlite", facts, run,
                      generator, generator_check)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def log(message: str) -> None:
    print(message, flush=True)


@dataclass
class SamenzorgRun:
    plan: list
    rows: list
    notes: list
    loaded: dict  # bundles, entries, seconds of the transaction import
    stored: int  # resources after loading
    carers: int  # carers with a sharing choice in force
    tokens: int  # carer tokens used
    samples: Path  # the bytes the ceiling serves
    audit: str  # what settling the run's audit log took


def measure_samenzorg(args, url: str, generator: str, tmp: Path) -> SamenzorgRun:
    from gateway.auth import mint
    from gateway.config import Settings

    secret = secrets.token_urlsafe(32)
    settings = Settings(database_url=url, jwt_secret=secret, var_dir=str(tmp / "var"))
    system_token = mint(settings, scope="system/*.cruds", ttl=6 * 3600, client_id="bench-ecd")
    tokens: dict[str, str] = {}

    def carer_token(related_person: str) -> str:
        if related_person not in tokens:
            tokens[related_person] = mint(settings, scope="user/*.rs", fhir_user=f"RelatedPerson/{related_person}",
                                          ttl=6 * 3600, client_id="bench-portal")
        return tokens[related_person]

    srv = server.samenzorg(url, secret, args.workers, args.threads, tmp)
    try:
        srv.wait_ready()
        http = Http(srv.port)
        analyze, statistics = statistics_while_loading(url)
        world, loaded = load_world(http, system_token, args.clients, args.seed, args.load_connections, log,
                                   analyze or (lambda: None))
        stored = stored_resources(url)
        rng = random.Random(args.seed)
        plan = scenarios.build(world, system_token, carer_token, rng, args.pool,
                               scenarios.new_networks(args.clients, args.seed, rng))
        samples = tmp / "ceiling"
        samples.mkdir()
        notes = []
        for sc in plan:
            problems, sample = probe(http, sc, rng)
            notes += [f"{sc.name} ({sc.who}): {p}" for p in problems]
            if sc.who == "system" and sample and sc.name in scenarios.CEILING_SAMPLES:
                (samples / f"{scenarios.CEILING_SAMPLES[sc.name]}.json").write_bytes(sample)
        log("Samenzorg:")
        database_cpu = PostgresCpu(url) if PostgresCpu.local(url) else None
        try:
            settling = AuditSettling(http, system_token, url)
            rows = []
            for sc in plan:
                if args.only and args.only not in f"{sc.name} ({sc.who})":
                    continue
                if "$everything" in sc.name:  # it reads AuditEvents: settled first, timed apart
                    settling()
                rows.append(measure(srv, generator, sc.name, sc.who, sc.requests, args, database_cpu))
            settling()
        finally:
            if database_cpu:
                database_cpu.close()
        audit = settling.line(sum(r.result.requests for r in rows if r.who == "carer")) + "\n- " + statistics
        log("  " + audit)
    finally:
        srv.stop()
    return SamenzorgRun(plan, rows, notes, loaded, stored, sum(len(c.carers) for c in world),
                        len(tokens), samples, audit)


def measure_ceiling(args, generator: str, run: SamenzorgRun, tmp: Path) -> tuple[dict[str, float], str]:
    """The ceiling's rows (appended to run.rows), its req/s per kind, and the generator check."""
    ceilings: dict[str, float] = {}
    ceil = server.ceiling(run.samples, args.workers, args.threads, tmp)
    try:
        ceil.wait_ready()
        for kind in ("read", "search"):
            sample = run.samples / f"{kind}.json"
            if not sample.exists():
                run.notes.append(f"no ceiling for {kind}: Samenzorg gave no 2xx answer to sample")
                continue
            row = measure(ceil, generator, f"ceiling: {kind} ({sample.stat().st_size:,} bytes)", "none",
                          [load.Request("GET", f"/ceiling/{kind}")], args)
            ceilings[kind] = row.result.rate
            run.rows.append(row)
        return ceilings, check_generator(ceil, generator, args)
    finally:
        ceil.stop()


def check_generator(ceil: server.Server, generator: str, args) -> str:
    """Does the generator keep up? The ceiling's read once more with the other generator, if there is one."""
    request = [load.Request("GET", "/ceiling/read")]
    if not load.wrk_path():
        return (f"Only the Python generator was available (for wrk: `{load.WRK_INSTALL}`). Its CPU use is in the "
                "table's generator column; well below one core per process means it was waiting on the server.")
    other = "python" if generator == "wrk" else "wrk"
    first = measure(ceil, other, f"ceiling: read, {other}", "none", request, args)
    again = measure(ceil, generator, f"ceiling: read, {generator} again", "none", request, args)

    def line(row: report.Row, name: str) -> str:
        r = row.result
        return (f"| {name} | {r.rate:,.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.p99_ms:.1f} "
                f"| {r.generator_cpu:.2f} | {row.server_cpu:.2f} |")

    return "\n".join([
        f"The ceiling's read, right after the `ceiling: read` row ({generator}): once with {other}, once more "
        f"with {generator}. If the generators agree, the generator was not the limit.", "",
        "| generator | req/s | p50 ms | p95 ms | p99 ms | generator CPU (cores) | server CPU (cores) |",
        "|---|---:|---:|---:|---:|---:|---:|", line(first, other), line(again, generator)])


def write_results(args, started, db_kind: str, facts: str, run: SamenzorgRun, generator: str,
                  generator_check: str) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"{started:%Y-%m-%d}-{db_kind}-{args.clients}" + (f"-{args.label}" if args.label else "")
    md, png = args.out / f"{stem}.md", args.out / f"{stem}.png"
    loaded, rows = run.loaded, run.rows
    rate = loaded["entries"] / loaded["seconds"] if loaded["seconds"] else 0
    command = "python -m bench.run " + args.cmdline
    title = f"Samenzorg over HTTP, {db_kind}, {args.clients:,} clients" + (f" ({args.label} run)" if args.label else "")
    report.plot(rows, png, f"{title}: latency p50 / p95 / p99 per scenario")
    summary = (f"- transaction import: **{rate:,.0f} resources/s** ({loaded['entries']:,} entries in "
               f"{loaded['bundles']:,} network Bundles, {args.load_connections} in parallel, {loaded['seconds']:.1f} s)\n"
               f"- stored resources after loading: {run.stored:,}; carers with a sharing choice in force: "
               f"{run.carers:,} (tokens used: {run.tokens:,})\n"
               f"- {args.connections} connections, closed loop, {args.seconds:g} s per scenario after "
               f"{args.warmup:g} s warm-up, requests picked at random from {args.pool:,} per scenario\n"
               f"- Samenzorg: `samenzorg serve --workers {args.workers} --threads {args.threads}` (gunicorn gthread); "
               "the ceiling: bare Flask under the same gunicorn settings, answering with bytes Samenzorg "
               f"served in this run (a CarePlan, a Communication search page)\n- {run.audit}")
    sections = [
        ("Command", f"```\n{command.strip()}\n```\nstarted {started:%Y-%m-%d %H:%M} UTC"),
        ("Machine", facts),
        ("Run", summary),
        ("Results", report.table(rows) + f"\n\n![latency percentiles]({png.name})"),
        ("Does the generator keep up?", generator_check),
        ("How to read this",
         "Compare ratios, not absolute numbers: `vs ceiling` is req/s over what bare Flask serves with the same "
         "bytes on the same machine in the same run (reads against the CarePlan, searches and history against "
         "the search page); `carer/system` is a carer's req/s over the same question asked by a system client. "
         "non-2xx counts answers outside 2xx plus requests that got no answer. Peak RSS is the largest worker's "
         "resident memory sampled during the scenario. Server CPU is the workers' CPU seconds per second, in all "
         "and per worker: one busy worker beside an idle one (†) held all the keep-alive connections or had "
         "the other waiting, e.g. on SQLite's write lock. PostgreSQL CPU is the same for the database's backends. The machine "
         "has nproc cores, shared with the load generator. See bench/README.md."),
    ]
    if run.notes:
        sections.append(("Problems seen", "\n".join(f"- {n}" for n in run.notes)))
    report.write_markdown(md, title, sections)
    log(f"bench: wrote {md} and {png.name}")


if __name__ == "__main__":
    main()
