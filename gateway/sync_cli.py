"""The connector commands of `samenzorg`: sources, sync, quarantine (pull side)."""
from __future__ import annotations

import logging
import sys

import orjson

from .config import Settings


def add_commands(sub) -> None:
    p = sub.add_parser("sources", help="list the configured sources (samenzorg.toml) with their sync state")
    p.set_defaults(func=_sources)

    p = sub.add_parser("sync", help="sync one source in the foreground (resumes a stopped run)")
    p.add_argument("source", help="the source's name in samenzorg.toml")
    p.add_argument("--full", action="store_true", help="fetch everything, not only what changed since the last run")
    p.add_argument("--quiet", action="store_true", help="no progress bar, only the summary line")
    p.set_defaults(func=_sync)

    p = sub.add_parser("quarantine", help="upstream records that could not be stored, and why")
    qsub = p.add_subparsers(dest="quarantine_command", required=True)
    q = qsub.add_parser("list", help="one line per quarantined record")
    q.add_argument("--source")
    q.set_defaults(func=_q_list)
    q = qsub.add_parser("show", help="a quarantined record: why, and the record as the source sent it")
    q.add_argument("qid", type=int)
    q.set_defaults(func=_q_show)
    q = qsub.add_parser("retry", help="map and store quarantined records again (e.g. after a mapping fix)")
    q.add_argument("qid", type=int, nargs="*")
    q.add_argument("--source", help="every quarantined record of this source")
    q.set_defaults(func=_q_retry)
    q = qsub.add_parser("drop", help="forget quarantined records")
    q.add_argument("qid", type=int, nargs="+")
    q.set_defaults(func=_q_drop)


def _config(settings: Settings):
    from connectors.config import load_config

    return load_config(settings.config or None)


def _engine(settings: Settings):
    from .storage.db import make_engine

    return make_engine(settings.database_url)


def _sources(settings: Settings, args) -> int:
    from .sync import states

    config = _config(settings)
    if not config.sources:
        print("no sources configured (samenzorg.toml, or the file SAMENZORG_CONFIG names)")
        return 0
    engine = _engine(settings)
    try:
        for s in states(engine, config):
            schedule = f"every {s['schedule_seconds']} s" if s["schedule_seconds"] else "by hand"
            last = s["last_success"].isoformat(timespec="seconds") + "Z" if s["last_success"] else "never"
            print(f"{s['name']}  {s['kind']}  {s['where']}  {schedule}  last success: {last}")
            if s["summary"]:
                c = s["summary"]
                print(f"    last run: fetched {c['fetched']}, created {c['created']}, updated {c['updated']}, "
                      f"deleted {c['deleted']}, unchanged {c['unchanged']}, quarantined {c['quarantined']}, "
                      f"{c['seconds']} s")
            if s["last_error"]:
                print(f"    last error: {s['last_error']}" + ("  (the next run resumes)" if s["resumes"] else ""))
            if s["leased_by"]:
                print(f"    being synced by {s['leased_by']}")
    finally:
        engine.dispose()
    return 0


def _sync(settings: Settings, args) -> int:
    from tqdm import tqdm

    from .sync import SourceBusy, run_sync

    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr)
    source = _config(settings).source(args.source)
    engine = _engine(settings)
    bar = tqdm(desc=source.name, unit=" records", disable=True if args.quiet else None, file=sys.stderr,
               dynamic_ncols=True)

    def progress(page, summary):
        c = summary.counts
        bar.update(page.fetched)
        bar.set_postfix(created=c.created, updated=c.updated, deleted=c.deleted, quarantined=c.quarantined,
                        refresh=False)

    try:
        summary = run_sync(engine, source, full=args.full, progress=progress)
    except SourceBusy as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    bar.close()
    print(summary.line())
    return 1 if summary.error else 0


def _q_rows(engine, source: str | None = None, qids=None):
    from sqlalchemy import select

    from .storage.tables import quarantine

    q = select(quarantine).order_by(quarantine.c.qid)
    if source:
        q = q.where(quarantine.c.source == source)
    if qids:
        q = q.where(quarantine.c.qid.in_(qids))
    with engine.connect() as conn:
        return conn.execute(q).all()


def _q_list(settings: Settings, args) -> int:
    engine = _engine(settings)
    try:
        rows = _q_rows(engine, args.source)
    finally:
        engine.dispose()
    for r in rows:
        reason = r.reason if len(r.reason) <= 100 else r.reason[:97] + "..."
        print(f"{r.qid}  {r.source}  {r.record}  {r.received.isoformat(timespec='seconds')}Z  "
              f"attempts {r.attempts}  {reason}")
    print(f"{len(rows)} quarantined")
    return 0


def _q_show(settings: Settings, args) -> int:
    engine = _engine(settings)
    try:
        rows = _q_rows(engine, qids=[args.qid])
    finally:
        engine.dispose()
    if not rows:
        print(f"error: no quarantined record {args.qid}", file=sys.stderr)
        return 1
    r = rows[0]
    print(f"record:   {r.record}\nsource:   {r.source}\nreceived: {r.received.isoformat(timespec='seconds')}Z\n"
          f"attempts: {r.attempts}\nreason:   {r.reason}\nas sent:")
    try:
        print(orjson.dumps(orjson.loads(r.raw), option=orjson.OPT_INDENT_2).decode())
    except orjson.JSONDecodeError:
        print(r.raw)
    return 0


def _q_retry(settings: Settings, args) -> int:
    from .quarantine import retry

    if not args.qid and not args.source:
        print("error: name quarantined records (their numbers) or --source", file=sys.stderr)
        return 1
    engine = _engine(settings)
    try:
        outcomes = retry(engine, _config(settings), _q_rows(engine, args.source, args.qid or None))
    finally:
        engine.dispose()
    for qid, record, outcome in outcomes:
        print(f"{qid}  {record}  {outcome}")
    stored = sum(1 for *_, o in outcomes if o == "stored")
    print(f"{stored} stored, {len(outcomes) - stored} still quarantined")
    return 0 if stored == len(outcomes) else 1


def _q_drop(settings: Settings, args) -> int:
    from sqlalchemy import delete

    from .storage.tables import quarantine

    engine = _engine(settings)
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            n = conn.execute(delete(quarantine).where(quarantine.c.qid.in_(args.qid))).rowcount
    finally:
        engine.dispose()
    print(f"dropped {n}")
    return 0 if n == len(set(args.qid)) else 1
