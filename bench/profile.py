"""`python -m bench.profile`: where a request's time goes, in process, on a shared machine.

The HTTP bench (`bench.run`) measures throughput; on a machine shared with
other work its absolute numbers are noise. This runs the same scenarios
(bench/scenarios.py) over the same seeded dataset through the Flask test
client in one thread, so each scenario's cost can be compared with the
system read **in the same run** (a ratio survives a busy machine better than
a rate), and profiles each scenario with pyinstrument (the `bench` extra).

    python -m bench.profile --clients 200 --requests 300              # table only
    python -m bench.profile --clients 200 --profile --label before    # + top frames per scenario
    python -m bench.profile --only carer --profile                    # scenarios whose row matches

Writes bench/results/<date>-profile-<db>-<clients>[-label].md.
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import run, scenarios
from .load import SEQ

RESULTS = Path(__file__).resolve().parent / "results"


def _consent_cache(app, on: bool) -> None:
    # Off: every request loads and compiles the Consents, as before the cache (what it keeps stays).
    from gateway import consent_cache

    cache = app.extensions["samenzorg.consent_cache"]
    if on:
        cache.__dict__.pop("state", None)
    else:
        cache.state = lambda conn, rp, patient_of, now: consent_cache.load(conn, rp, patient_of, now)


_AUDIT_APPEND = None


def _audit_log(app, on: bool) -> None:
    # Off: each request stores its audit records as whole AuditEvent resources (resource, history,
    # compartment and index rows) in its own commit, as before the audit log; on: it appends them.
    import orjson

    from gateway import audit_store, fhirtime

    global _AUDIT_APPEND
    _AUDIT_APPEND = _AUDIT_APPEND or audit_store.append

    def whole(conn, fhir_user, client_id, disclosures):
        if disclosures:
            now = fhirtime.now()
            audit_store.store(conn, [(now, orjson.dumps(e))
                                     for e in audit_store.events(fhir_user, client_id, disclosures, now)])

    audit_store.append = _AUDIT_APPEND if on else whole


_MATCH_MANY = None


def _match_many(app, on: bool) -> None:
    # Off: a transaction matches each conditional entry with its own statement, as before.
    from gateway.repository import Repository

    global _MATCH_MANY
    _MATCH_MANY = _MATCH_MANY or Repository.match_many
    Repository.match_many = _MATCH_MANY if on else (lambda self, res_type, queries, limit=2: {})


_DIRECT = None


def _direct(app, on: bool) -> None:
    # Off: the statements every request runs go through Connection.execute, as before.
    from gateway.storage.direct import Direct

    global _DIRECT
    _DIRECT = _DIRECT or Direct._compiled
    Direct._compiled = _DIRECT if on else (lambda self, conn: None)


_PREPARED = None


def _prepared(app, on: bool) -> None:
    # Off: every search, forward include and system history page is built and handed to
    # SQLAlchemy per request, as before.
    from types import SimpleNamespace

    from gateway import repository
    from gateway.search import execute, prepared

    global _PREPARED
    _PREPARED = _PREPARED or (execute.prepared, prepared.includes, repository._HISTORY)
    per_request = SimpleNamespace(get=lambda key, clauses, build: build(1))  # its first use: SQLAlchemy's
    execute.prepared = _PREPARED[0] if on else (lambda *args: None)
    prepared.includes, repository._HISTORY = _PREPARED[1:] if on else (per_request, per_request)


_POLICY_INIT = None


def _shared_clauses(app, on: bool) -> None:
    # Off: a carer's access clauses hold their own values, kept per carer, as before.
    from gateway.access_binds import unbound
    from gateway.policy import Policy

    global _POLICY_INIT
    _POLICY_INIT = _POLICY_INIT or Policy.__init__

    def own_values(self, *args, **kwargs):
        _POLICY_INIT(self, *args, **kwargs)
        self.bound, self.conn = None, unbound(self.conn)

    Policy.__init__ = _POLICY_INIT if on else own_values
    app.extensions["samenzorg.consent_cache"]._clauses.clear()  # kept as (clause, values) when on


# Changes that can be switched off in a running app, to compare old and new code paths in one run.
TOGGLES = {"consent-cache": _consent_cache, "audit-log": _audit_log, "match-many": _match_many,
           "direct": _direct, "prepared": _prepared, "shared-clauses": _shared_clauses}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench.profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=200, help="care networks to load (default 200)")
    p.add_argument("--requests", type=int, default=300, help="requests timed per scenario (default 300)")
    p.add_argument("--database-url", default=None, help="an empty database (default: SQLite in a temp dir)")
    p.add_argument("--profile", action="store_true", help="profile each scenario (pyinstrument) and record top frames")
    p.add_argument("--only", default="", help="only scenarios whose 'name (who)' contains this")
    p.add_argument("--compare", choices=sorted(TOGGLES), default=None,
                   help="time each scenario with this change off and on, interleaved, in the same run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--label", default="")
    p.add_argument("--out", type=Path, default=RESULTS)
    return p.parse_args(argv)


class TestClientHttp:
    """bench.run's Http interface over the Flask test client."""

    def __init__(self, client):
        self.client = client

    def __call__(self, method, path, token, body=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if body is not None:
            h["Content-Type"] = "application/fhir+json"
        r = self.client.open(path, method=method, data=body, headers=h)
        return r.status_code, r.get_data()


def _timed(http, requests, n: int, seq) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, non-2xx) for n requests cycled from `requests`."""
    bad = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for r in itertools.islice(itertools.cycle(requests), n):
        body = r.body.replace(SEQ, f"p{next(seq)}".encode()) if r.body and SEQ in r.body else r.body
        status, _ = http(r.method, r.path, r.token, body)
        bad += not 200 <= status < 300
    return time.perf_counter() - wall, time.process_time() - cpu, bad


def _top_frames(profiler, limit_share: float = 0.04) -> str:
    """The call tree pruned to frames of at least `limit_share` of the time, as text."""
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(unicode=False, color=False, show_all=False, short_mode=True,
                               processor_options={"filter_threshold": limit_share})
    text = renderer.render(profiler.last_session)
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith(("  _", " _")))


def main(argv=None) -> None:
    args = parse_args(argv)
    from gateway import create_app
    from gateway.auth import mint
    from gateway.config import Settings
    from gateway.storage.db import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="samenzorg-profile-"))
    url = args.database_url or f"sqlite:///{tmp / 'samenzorg.db'}"
    upgrade(url)
    settings = Settings(database_url=url, jwt_secret="bench-profile-secret-" + os.urandom(8).hex(),
                        var_dir=str(tmp / "var"), log_level="WARNING")
    app = create_app(settings)
    http = TestClientHttp(app.test_client())
    system = mint(settings, scope="system/*.cruds", ttl=6 * 3600, client_id="bench-ecd")
    tokens: dict[str, str] = {}

    def carer_token(rp: str) -> str:
        if rp not in tokens:
            tokens[rp] = mint(settings, scope="user/*.rs", fhir_user=f"RelatedPerson/{rp}", ttl=6 * 3600,
                              client_id="bench-portal")
        return tokens[rp]

    world, loaded = run.load_world(http, system, args.clients, args.seed, 1, lambda m: None)
    rng = random.Random(args.seed)
    plan = scenarios.build(world, system, carer_token, rng, 500, scenarios.new_networks(args.clients, args.seed, rng))
    seq = itertools.count()
    rows, profiles, compared = [], [], []
    for sc in plan:
        label = f"{sc.name} ({sc.who})"
        if args.only and args.only not in label and not label.startswith("read CarePlan/{id} (system)"):
            continue
        n = max(10, args.requests // (10 if "transaction" in sc.name else 1))
        _timed(http, sc.requests, min(n, 50), seq)  # warm caches the way a running server has them
        wall, cpu, bad = _timed(http, sc.requests, n, seq)
        per = wall / n
        if args.compare:
            off = on = 0.0
            for _ in range(5):  # interleaved, so the machine's load falls on both alike
                TOGGLES[args.compare](app, False)
                off += _timed(http, sc.requests, max(1, n // 5), seq)[1]  # CPU: steadier on a shared machine
                TOGGLES[args.compare](app, True)
                on += _timed(http, sc.requests, max(1, n // 5), seq)[1]
            compared.append((label, off / (5 * max(1, n // 5)), on / (5 * max(1, n // 5))))
            print(f"{label:70s} {args.compare} off {compared[-1][1] * 1000:7.2f} ms, on {compared[-1][2] * 1000:7.2f} ms")
        rows.append((label, n, per, cpu / n, bad, sc))
        print(f"{label:70s} {1 / per:8.0f}/s  {per * 1000:7.2f} ms  CPU {cpu / n * 1000:7.2f} ms  non-2xx {bad}", flush=True)
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            _timed(http, sc.requests, n, seq)
            profiler.stop()
            profiles.append((label, _top_frames(profiler)))
    base = next(r[2] for r in rows if r[0] == "read CarePlan/{id} (system)")
    lines = [f"# In-process profile: {url.split(':')[0]}, {args.clients} clients{' — ' + args.label if args.label else ''}",
             "", f"`python -m bench.profile {' '.join(argv or [])}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. "
             "One thread, Flask test client, no network. Loaded "
             f"{loaded['entries']:,} entries in {loaded['seconds']:.1f} s "
             f"({loaded['entries'] / loaded['seconds']:,.0f} resources/s, in process).", "",
             "| scenario | n | req/s | ms/request | CPU ms/request | × system read | non-2xx |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, n, per, cpu, bad, sc in rows:
        lines.append(f"| {label} | {n} | {1 / per:,.0f} | {per * 1000:.2f} | {cpu * 1000:.2f} | {per / base:.1f} | {bad} |")
    transaction = [r for r in rows if "transaction" in r[0]]
    if transaction:
        per_bundle = transaction[0][2]
        entries = len(__import__("orjson").loads(transaction[0][5].requests[0].body.replace(SEQ, b"x"))["entry"])
        lines += ["", f"Transaction import in process: {entries / per_bundle:,.0f} resources/s ({entries} per Bundle)."]
    if compared:
        lines += ["", f"### `{args.compare}` off and on, interleaved in this run", "",
                  "| scenario | CPU ms off | CPU ms on | on/off |", "|---|---:|---:|---:|"]
        lines += [f"| {label} | {off * 1000:.2f} | {on * 1000:.2f} | {on / off:.2f} |" for label, off, on in compared]
    for label, text in profiles:
        lines += ["", f"## {label}", "", "```", text, "```"]
    args.out.mkdir(parents=True, exist_ok=True)
    db = "postgresql" if url.startswith("postgresql") else "sqlite"
    name = f"{datetime.now(timezone.utc):%Y-%m-%d}-profile-{db}-{args.clients}{'-' + args.label if args.label else ''}.md"
    (args.out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
