"""Pulling from sources of record: one sync run, its state, and the schedule for workers.

A run asks the source's connector for pages from the stored cursor and stores each page, with the
cursor after it, in one transaction of its own: a crash or an error mid-run loses at most the page
under way, and the next run resumes from the last stored page. The run's summary (fetched,
created, updated, deleted, unchanged, quarantined, seconds) and its last error are kept in
`sync_state`, which also holds a lease: of several workers (or a worker and `samenzorg sync`) only
the holder syncs a source; a lease not renewed (its worker died) expires and another takes over.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import orjson
import requests
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connectors.base import Page, connector_for
from connectors.config import Config, Source
from connectors.pulling import UpstreamError

from . import fhirtime
from .storage.tables import sync_records, sync_state
from .sync_store import Counts, store_page

LEASE = timedelta(minutes=5)  # renewed with every stored page; a dead worker's claim lapses after this
log = logging.getLogger("samenzorg.sync")


class SourceBusy(Exception):
    """Another worker (or sync) holds this source's lease."""


class LeaseLost(Exception):
    """Our lease expired and another worker took the source over: stop without storing more."""


@dataclass
class Summary:
    source: str
    counts: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    error: str | None = None
    pages: int = 0

    def as_dict(self) -> dict:
        return {**self.counts.as_dict(), "seconds": round(self.seconds, 3), "pages": self.pages,
                **({"error": self.error} if self.error else {})}

    def line(self) -> str:
        c = self.counts
        text = (f"{self.source}: fetched {c.fetched}, created {c.created}, updated {c.updated}, deleted {c.deleted}, "
                f"unchanged {c.unchanged}, quarantined {c.quarantined} in {self.seconds:.1f} s")
        return text + (f"; stopped: {self.error}" if self.error else "")


def event(name: str, level: int = logging.INFO, **fields) -> None:
    """One JSON line per event; never a token, never a resource body."""
    if log.isEnabledFor(level):
        log.log(level, orjson.dumps({"event": name, **fields}, default=str).decode())


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(owner: str | None) -> bool:
    """Whether a lease holder ran on this machine and its process is gone (killed, crashed): then its
    lease need not be waited out. Holders on other machines lapse by time only."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def ensure_state(conn, names) -> None:
    """A sync_state row per source (workers claim rows, so each source needs one first)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    for name in names:
        conn.execute(dialect.insert(sync_state).values(source=name, running=False).on_conflict_do_nothing())


def claim(engine, name: str, owner: str) -> bool:
    """Take the source's lease when free or lapsed; False when someone else holds it."""
    now = fhirtime.now()
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        ensure_state(conn, [name])
        s = sync_state
        holder = conn.execute(select(s.c.lease_owner).where(s.c.source == name)).scalar()
        free = or_(s.c.lease_until.is_(None), s.c.lease_until < now, s.c.lease_owner == owner)
        if _dead_here(holder):
            free = or_(free, s.c.lease_owner == holder)
        taken = conn.execute(update(s).where(s.c.source == name, free)
                             .values(lease_owner=owner, lease_until=now + LEASE)).rowcount
    return taken == 1


def release(engine, name: str, owner: str, **values) -> None:
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        s = sync_state
        conn.execute(update(s).where(s.c.source == name, s.c.lease_owner == owner)
                     .values(lease_owner=None, lease_until=None, **values))


def run_sync(engine, source: Source, *, full: bool = False, owner: str | None = None,
             progress: Callable[[Page, Summary], None] | None = None, connector=None) -> Summary:
    """One run for one source, in the foreground of the caller. Raises SourceBusy when another holds it."""
    owner = owner or worker_id()
    if not claim(engine, source.name, owner):
        raise SourceBusy(f"source '{source.name}' is being synced by another worker")
    summary = Summary(source.name)
    started = time.perf_counter()
    with engine.connect() as conn:
        cursor = conn.execute(select(sync_state.c.cursor).where(sync_state.c.source == source.name)).scalar()
    connector = connector or connector_for(source)
    if hasattr(connector, "known"):
        connector.known = _known(engine, source.name)
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        conn.execute(update(sync_state).where(sync_state.c.source == source.name)
                     .values(running=True, last_started=fhirtime.now()))
    event("sync.start", source=source.name, full=full, resume=bool(cursor and not full))
    try:
        for page in connector.pull(None if full else cursor, full=full):
            with engine.connect().execution_options(write=True) as conn, conn.begin():
                counts = store_page(conn, source, page)
                s = sync_state
                kept = conn.execute(update(s).where(s.c.source == source.name, s.c.lease_owner == owner)
                                    .values(cursor=page.cursor, lease_until=fhirtime.now() + LEASE)).rowcount
                if kept != 1:
                    raise LeaseLost(f"source '{source.name}' was taken over by another worker")
            summary.counts.add(counts)
            summary.pages += 1
            event("sync.page", source=source.name, page=summary.pages, level=logging.DEBUG, **counts.as_dict())
            if progress:
                progress(page, summary)
    except (UpstreamError, requests.RequestException, LeaseLost) as exc:
        summary.error = str(exc) or type(exc).__name__
    except Exception as exc:  # a bug: recorded for `samenzorg sources`, then raised for the log
        summary.error = f"internal error: {type(exc).__name__}"
        summary.seconds = time.perf_counter() - started
        release(engine, source.name, owner, last_error=summary.error, last_summary=_json(summary))
        event("sync.failed", source=source.name, error=summary.error)
        raise
    summary.seconds = time.perf_counter() - started
    if summary.error:
        release(engine, source.name, owner, last_error=summary.error, last_summary=_json(summary))
        event("sync.stopped", source=source.name, **summary.as_dict())
    else:
        release(engine, source.name, owner, running=False, last_success=fhirtime.now(), last_error=None,
                last_summary=_json(summary))
        event("sync.done", **{"source": source.name, **summary.as_dict()})
    return summary


def _json(summary: Summary) -> str:
    return orjson.dumps(summary.as_dict()).decode()


def _known(engine, source_name: str):
    def known(res_type: str, upstream_id: str) -> bool:
        r = sync_records
        with engine.connect() as conn:
            return conn.execute(select(r.c.deleted).where(
                r.c.source == source_name, r.c.res_type == res_type, r.c.upstream_id == upstream_id)).first() is not None
    return known


def due_sources(engine, config: Config, now: datetime | None = None) -> list[str]:
    """Scheduled sources whose last start is a schedule ago (or that never ran)."""
    now = now or fhirtime.now()
    scheduled = {n: s for n, s in config.sources.items() if s.schedule_seconds}
    if not scheduled:
        return []
    with engine.connect() as conn:
        rows = {r.source: r for r in conn.execute(select(sync_state).where(sync_state.c.source.in_(scheduled)))}
    return [n for n, s in scheduled.items() if n not in rows or rows[n].last_started is None
            or rows[n].last_started + timedelta(seconds=s.schedule_seconds) <= now]


def claim_due(engine, config: Config, owner: str) -> list[str]:
    """Claim the leases of due sources that no one holds. On PostgreSQL the rows are picked with
    `FOR UPDATE SKIP LOCKED`, so workers never wait on each other and never take the same source."""
    due = due_sources(engine, config)
    if not due:
        return []
    now = fhirtime.now()
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        ensure_state(conn, due)
        s = sync_state
        q = select(s.c.source, s.c.last_started).where(
            s.c.source.in_(due), or_(s.c.lease_until.is_(None), s.c.lease_until < now))
        if conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        # Due again under the claim: another worker may have run the source since `due` was read.
        names = [name for name, started in conn.execute(q)
                 if started is None or started + timedelta(seconds=config.source(name).schedule_seconds) <= now]
        if names:
            conn.execute(update(s).where(s.c.source.in_(names)).values(lease_owner=owner, lease_until=now + LEASE))
    return names


def sync_due(engine, settings, config: Config, *, owner: str | None = None) -> list[dict]:
    """For the worker: sync every source whose schedule is due and that no other worker holds."""
    owner = owner or worker_id()
    out = []
    for name in claim_due(engine, config, owner):
        try:
            summary = run_sync(engine, config.source(name), owner=owner)
        except SourceBusy:
            continue
        out.append({"source": name, **summary.as_dict()})
    return out


def states(engine, config: Config) -> list[dict]:
    """Each configured source with its sync state (for `samenzorg sources`)."""
    with engine.connect() as conn:
        rows = {r.source: r for r in conn.execute(select(sync_state))}
    out = []
    for name, source in sorted(config.sources.items()):
        row = rows.get(name)
        out.append({
            "name": name, "kind": source.kind, "where": source.base_url or source.folder,
            "schedule_seconds": source.schedule_seconds,
            "last_started": row.last_started if row else None,
            "last_success": row.last_success if row else None,
            "last_error": row.last_error if row else None,
            "summary": orjson.loads(row.last_summary) if row and row.last_summary else None,
            "resumes": bool(row and row.running and row.cursor),
            "leased_by": row.lease_owner if row and row.lease_until and row.lease_until > fhirtime.now() else None,
        })
    return out


