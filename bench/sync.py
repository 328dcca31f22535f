"""The sync benchmark (by hand): a full sync of N clients' networks from a local FHIR upstream.

    python -m bench.sync --clients 1000 [--page-size 100] [--database-url URL] [--label NAME]

1. Starts a second Samenzorg (`samenzorg serve`, SQLite in a temp dir) as the upstream ECD and loads
   the seeded dataset (bench/dataset.py) into it as transaction Bundles (not measured here).
2. Runs `gateway.sync.run_sync` for a `fhir` source pointed at it, into a fresh local database
   (SQLite in the temp dir, or the empty database --database-url names): a full sync, then an
   incremental one with nothing changed upstream.
3. Writes bench/results/<date>-sync-<db>-<clients>[-label].md.

The upstream and the sync share the machine's cores: the rate is for the pair, as on a laptop demo.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from . import run, server

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--database-url", default=os.environ.get(run.ENV_URL), help="the local database (empty)")
    p.add_argument("--label", default="")
    args = p.parse_args(argv)
    started = datetime.now(timezone.utc)

    from connectors.base import connector_for
    from connectors.config import parse_config
    from connectors.upstream import session_for
    from gateway.auth import mint
    from gateway.config import Settings
    from gateway.storage.db import make_engine
    from gateway.sync import run_sync

    with tempfile.TemporaryDirectory(prefix="samenzorg-sync-bench-") as tmp_name:
        tmp = Path(tmp_name)
        upstream_url = f"sqlite:///{tmp / 'upstream.db'}"
        run.prepare_database(upstream_url)
        secret = secrets.token_urlsafe(32)
        token = mint(Settings(database_url=upstream_url, jwt_secret=secret, var_dir=str(tmp / "var")),
                     scope="system/*.rs", ttl=6 * 3600, client_id="bench-sync")
        srv = server.samenzorg(upstream_url, secret, 2, 4, tmp)
        try:
            srv.wait_ready()
            load_token = mint(Settings(jwt_secret=secret, var_dir=str(tmp / "var")), scope="system/*.cruds",
                              ttl=6 * 3600, client_id="bench-ecd")
            run.log(f"loading {args.clients:,} networks into the upstream")
            run.load_world(run.Http(srv.port), load_token, args.clients, args.seed, 4, run.log)
            upstream_resources = run.stored_resources(upstream_url)

            local_url = args.database_url or f"sqlite:///{tmp / 'local.db'}"
            db = run.prepare_database(local_url)
            source = parse_config({"sources": {"bench-ecd": {
                "kind": "fhir", "base_url": f"{srv.base}/fhir", "auth": {"type": "bearer", "token_env": "T"},
                "options": {"page_size": args.page_size}}}}).source("bench-ecd")
            engine = make_engine(local_url)
            try:
                session = session_for(source, {"T": token})
                run.log("full sync")
                t0 = time.perf_counter()
                full = run_sync(engine, source, full=True, connector=connector_for(source, session),
                                progress=lambda page, s: run.log(f"  {s.counts.fetched:,} fetched, "
                                                                 f"{s.counts.created:,} created")
                                if s.pages % 20 == 0 else None)
                full_wall = time.perf_counter() - t0
                run.log("incremental sync (nothing changed)")
                again = run_sync(engine, source, connector=connector_for(source, session))
            finally:
                engine.dispose()
        finally:
            srv.stop()
    if full.error or again.error:
        raise SystemExit(f"bench: the sync stopped: {full.error or again.error}")
    stored = full.counts.created + full.counts.updated + full.counts.unchanged
    label = f"-{args.label}" if args.label else ""
    kind = "postgresql" if str(local_url).startswith("postgresql") else "sqlite"
    out = RESULTS / f"{started:%Y-%m-%d}-sync-{kind}-{args.clients}{label}.md"
    out.write_text("\n".join([
        f"# Sync from a FHIR upstream, {kind}, {args.clients:,} clients{(' (' + args.label + ')') if args.label else ''}",
        "", "## Command", "", "```", f"python -m bench.sync {' '.join(sys.argv[1:])}".rstrip(), "```",
        f"started {started:%Y-%m-%d %H:%M} UTC", "", "## Machine", "", run.machine_facts(db, "none"), "",
        "## Run", "",
        f"- upstream: a second Samenzorg (`samenzorg serve --workers 2 --threads 4`, SQLite) holding "
        f"{upstream_resources:,} resources of {args.clients:,} networks (bench/dataset.py, seed {args.seed})",
        f"- source kind `fhir`, `_history` per type, `_count={args.page_size}`; each page stored in its own transaction",
        "- the upstream and the sync share the machine's 2 cores", "",
        "## Results", "",
        "| run | fetched | created | updated | unchanged | deleted | quarantined | pages | seconds | resources/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row("full", full, full_wall, stored),
        _row("incremental, nothing changed", again, again.seconds, again.counts.fetched),
        "",
    ]))
    run.log(f"wrote {out}")
    print(full.line())
    print(again.line())


def _row(name, s, seconds, n) -> str:
    c = s.counts
    return (f"| {name} | {c.fetched:,} | {c.created:,} | {c.updated:,} | {c.unchanged:,} | {c.deleted:,} | "
            f"{c.quarantined:,} | {s.pages:,} | {seconds:.1f} | {n / seconds if seconds else 0:,.0f} |")


if __name__ == "__main__":
    main()
