"""The `samenzorg outbox …` and `samenzorg worker` commands (added to the parser by gateway.cli)."""
from __future__ import annotations

import logging
import sys

import orjson

from ..config import Settings


def add_commands(sub) -> None:
    p = sub.add_parser("outbox", help="the write-back outbox: list, retry, drop, flush")
    osub = p.add_subparsers(dest="outbox_command", required=True)
    ls = osub.add_parser("list", help="items, newest first, and the count per state")
    ls.add_argument("--state", choices=("pending", "delivered", "dead", "dropped"))
    ls.add_argument("--source", help="only items for this source")
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=_list)
    rt = osub.add_parser("retry", help="make dead (or dropped) items due again now")
    which = rt.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", type=int, default=[])
    which.add_argument("--all-dead", action="store_true", help="every dead item")
    rt.set_defaults(func=_retry)
    dr = osub.add_parser("drop", help="give up on pending or dead items (kept as dropped)")
    dr.add_argument("ids", nargs="+", type=int)
    dr.set_defaults(func=_drop)
    fl = osub.add_parser("flush", help="deliver what is due now, in the foreground")
    fl.add_argument("--limit", type=int, help="attempt at most this many items")
    fl.add_argument("--concurrency", type=int, default=4, help="pushes in flight at once (default 4)")
    fl.set_defaults(func=_flush)

    w = sub.add_parser("worker", help="deliver the outbox (and run source schedules) until stopped")
    w.add_argument("--idle", type=float, default=2.0, help="seconds to sleep when nothing is due (default 2)")
    w.add_argument("--lease", type=float, help="seconds a claim holds an item (default 120, longer when a batch "
                                               "of pushes could take longer by the sources' timeouts)")
    w.add_argument("--max-attempts", type=int, help="attempts before an item is dead (default 10)")
    w.add_argument("--backoff", type=float, help="seconds before the second attempt; doubles each time (default 5)")
    w.add_argument("--batch", type=int, default=20, help="items claimed at once (default 20)")
    w.add_argument("--concurrency", type=int, default=4, help="pushes in flight at once per worker (default 4)")
    w.add_argument("--once", action="store_true", help="stop when a pass finds nothing to do")
    w.set_defaults(func=_worker)

def _engine(settings: Settings):
    from ..storage.db import make_engine

    return make_engine(settings.database_url)

def _config(settings: Settings):
    from connectors.config import load_config

    return load_config(settings.config or None)

def _list(settings: Settings, args) -> int:
    from .admin import counts, items

    engine = _engine(settings)
    try:
        with engine.connect() as conn:
            rows = items(conn, state=args.state, source=args.source, limit=args.limit)
            totals = counts(conn)
    finally:
        engine.dispose()
    if args.json:
        for r in rows:
            print(orjson.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                for k, v in r._mapping.items()}).decode())
        return 0
    for r in rows:
        when = r.finished_at if r.state != "pending" else r.next_attempt_at
        print(f"{r.id:>6}  {r.state:<9} {r.source:<16} {r.action:<6} {r.res_type}/{r.res_id} v{r.version}  "
              f"attempts {r.attempts}  {'due' if r.state == 'pending' else 'at'} {when:%Y-%m-%d %H:%M:%S}Z"
              + (f"  last error: {r.last_error}" if r.last_error else ""))
    print(", ".join(f"{n} {state}" for state, n in totals.items()))
    return 0

def _retry(settings: Settings, args) -> int:
    from .admin import retry

    engine = _engine(settings)
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            n = retry(conn, None if args.all_dead else args.ids)
    finally:
        engine.dispose()
    print(f"{n} item(s) due again")
    return 0

def _drop(settings: Settings, args) -> int:
    from .admin import drop

    engine = _engine(settings)
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            n = drop(conn, args.ids)
    finally:
        engine.dispose()
    print(f"{n} item(s) dropped")
    return 0 if n == len(set(args.ids)) else 1

def _policy(args):
    from dataclasses import replace

    from .delivery import RetryPolicy

    policy = RetryPolicy()
    for name, attr in (("lease", "lease"), ("max_attempts", "max_attempts"), ("backoff", "base")):
        value = getattr(args, name, None)
        if value is not None:
            policy = replace(policy, **{attr: value})
    return policy

def _flush(settings: Settings, args) -> int:
    from .delivery import Deliverer

    _log_json(settings)
    engine = _engine(settings)
    try:
        summary = Deliverer(engine, _config(settings), _policy(args), concurrency=args.concurrency,
                            subscription_timeout=settings.subscription_timeout).flush(args.limit)
    finally:
        engine.dispose()
    print(summary.line())
    return 0

def _worker(settings: Settings, args) -> int:
    import threading

    from ..worker import default_jobs, run, stop_on_signals

    _log_json(settings)
    engine = _engine(settings)
    stop = threading.Event()
    stop_on_signals(stop)
    try:
        passes = run(default_jobs(settings, engine, _config(settings), policy=_policy(args), batch=args.batch,
                                  concurrency=args.concurrency),
                     idle=args.idle, stop=stop, once=args.once)
    finally:
        engine.dispose()
    print(f"worker stopped after {passes} pass(es)", file=sys.stderr)
    return 0

def _log_json(settings: Settings) -> None:
    """Events are one JSON line each on stderr (the messages are JSON already)."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s", stream=sys.stderr)

__all__ = ["add_commands"]
