"""Delivering the outbox: claim due items, push each to its source, record what became of it.

Claims are short transactions: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` picks rows no other
worker is claiming, and a lease (owner + expiry) marks them taken while the push runs outside any
transaction. A worker that dies mid-delivery leaves a lease that expires; another worker then claims
the item again, and the idempotency key makes the repeated push harmless upstream. On SQLite the
claim runs under the database's one write lock (BEGIN IMMEDIATE), so the same code serves one worker.

The versions of one resource go upstream in order: an item is due only when no earlier item of
the same resource for the same destination is still pending.

Subscription notifications (source "subscription:<sid>", gateway.subscriptions) are items like
any other: claimed, leased, retried with back-off and Retry-After, dead after the last attempt;
only the push differs (a rest-hook POST) and what follows it (the Subscription's status).
"""
from __future__ import annotations

import logging
import random
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
import requests
from sqlalchemy import bindparam, exists, or_, select, tuple_, update
from sqlalchemy.orm import aliased
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connectors.base import Delivered, OutboundItem, PushFailed, PushRefused
from connectors.config import Config, Source
from connectors.push import PUSH
from connectors.upstream import session_for

from .. import fhirtime
from ..policy import references_in
from ..storage.tables import outbox, resource_history, resources
from ..subscriptions import notify
from ..subscriptions.store import sid_of

log = logging.getLogger("samenzorg.outbox")

PENDING, DELIVERED, DEAD, DROPPED = "pending", "delivered", "dead", "dropped"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to try. Attempt n waits base·2^(n-1) seconds, at most `cap`, times a
    random factor in [0.5, 1) (jitter: many items failing together do not retry together); a
    Retry-After from the source is a floor. After `max_attempts` the item is dead."""
    max_attempts: int = 10
    base: float = 5.0
    cap: float = 3600.0
    # Seconds a claim holds an item. None: 120, or twice the slowest source's connect + read timeout
    # if longer, so a lease outlives any one push. A shorter lease given by hand lets a dead worker's
    # items move on sooner, at the price of a possible repeat push (harmless: same key).
    lease: float | None = None

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        wait = min(self.cap, self.base * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait


@dataclass
class Summary:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    dropped: int = 0  # notifications of a Subscription deleted or turned off since
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.dead + self.dropped

    def line(self) -> str:
        return f"delivered {self.delivered}, to retry {self.retrying}, dead {self.dead}"


def worker_id() -> str:
    """Unique per process and run: a lease names who holds it (host, pid, a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_for(config: Config, policy: RetryPolicy, rounds: int = 1) -> float:
    """A lease outlasts a claimed batch: `rounds` pushes one after another (batch / concurrency), each
    as slow as the longest connect + read timeout of any source, twice over."""
    if policy.lease is not None:
        return policy.lease
    slowest = max((s.connect_timeout + s.read_timeout for s in config.sources.values()), default=0.0)
    return max(120.0, 2 * slowest * rounds)


def claim(engine, owner: str, limit: int, lease: float, due_by: datetime | None = None) -> list:
    """Take up to `limit` items due by `due_by` (default now) for `owner`; attempts are counted now, so
    a push that kills its worker every time still ends dead. Returns the claimed rows."""
    now = fhirtime.now()
    due_by = min(due_by or now, now)
    item, earlier = aliased(outbox), aliased(outbox)
    due = (select(item.c.id)
           .where(item.c.state == PENDING, item.c.next_attempt_at <= due_by,
                  or_(item.c.lease_expires_at.is_(None), item.c.lease_expires_at < now),
                  ~exists().where(earlier.c.res_type == item.c.res_type, earlier.c.res_id == item.c.res_id,
                                  earlier.c.source == item.c.source, earlier.c.id < item.c.id,
                                  earlier.c.state == PENDING))
           .order_by(item.c.next_attempt_at, item.c.id).limit(limit)
           .with_for_update(skip_locked=True, of=item))
    # One statement: the rows are picked, leased and returned together (one round trip a claim).
    take = (update(outbox).where(outbox.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease),
                    attempts=outbox.c.attempts + 1)
            .returning(*outbox.c))
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        return sorted(conn.execute(take).all(), key=lambda r: r.id)


def load_items(conn, rows) -> dict[int, OutboundItem]:
    """The items as the connector sees them (by outbox id): the version written (a delete: the version
    it deleted), the client, and the local resources its references point at. Three queries a batch."""
    h = resource_history
    wanted = {(r.res_type, r.res_id, r.version - 1 if r.action == "delete" else r.version) for r in rows}
    bodies = {}
    if wanted:
        found = conn.execute(select(h.c.res_type, h.c.res_id, h.c.version, h.c.body)
                             .where(tuple_(h.c.res_type, h.c.res_id, h.c.version).in_(sorted(wanted)))).all()
        bodies = {(t, i, v): orjson.loads(b) for t, i, v, b in found if b}
    versions = {r.id: bodies.get((r.res_type, r.res_id, r.version - 1 if r.action == "delete" else r.version))
                or {"resourceType": r.res_type, "id": r.res_id} for r in rows}
    refs = {("Patient", r.patient_id) for r in rows}
    for resource in versions.values():
        for ref in references_in(resource):
            res_type, _, res_id = ref.partition("/")
            if res_id and "/" not in res_id:
                refs.add((res_type, res_id))
    current = {}
    if refs:
        q = select(resources.c.res_type, resources.c.res_id, resources.c.body).where(
            tuple_(resources.c.res_type, resources.c.res_id).in_(sorted(refs)), resources.c.deleted.is_(False))
        current = {f"{t}/{i}": orjson.loads(b) for t, i, b in conn.execute(q) if b}
    items = {}
    for r in rows:
        resource = versions[r.id]
        related = {ref: current[ref] for ref in set(references_in(resource)) if ref in current}
        patient = current.get(f"Patient/{r.patient_id}") or {"resourceType": "Patient", "id": r.patient_id}
        items[r.id] = OutboundItem(item_id=r.id, idempotency_key=r.idempotency_key, res_type=r.res_type,
                                   res_id=r.res_id, resource=resource, patient=patient, action=r.action,
                                   resource_key=r.resource_key, related=related)
    return items


def load_item(conn, row) -> OutboundItem:
    return load_items(conn, [row])[row.id]


class Deliverer:
    """Delivers claimed items for one worker; keeps one HTTP session per source."""

    def __init__(self, engine, config: Config, policy: RetryPolicy | None = None, owner: str | None = None,
                 batch: int = 20, concurrency: int = 1, subscription_timeout: float = 10.0):
        self.engine = engine
        # Seconds to wait for a subscriber's endpoint (connect, and read).
        self.subscription_timeout = subscription_timeout
        self.config = config
        self.policy = policy or RetryPolicy()
        self.owner = owner or worker_id()
        # Items claimed at once: a small batch spreads work over workers; a large one saves claims.
        self.batch = batch
        # Pushes of one claimed batch run side by side: delivery waits on the record system, not on us.
        # A batch never holds two versions of one resource (see `claim`), so order is kept.
        self.concurrency = max(1, concurrency)
        rounds = -(-batch // self.concurrency)
        self.lease = lease_for(config, self.policy, rounds)
        if self.policy.lease is None:  # subscribers' endpoints are pushed to as well (connect + read, twice)
            self.lease = max(self.lease, 2 * 2 * subscription_timeout * rounds)
        self._local = threading.local()  # a requests.Session per thread and source

    def session(self, source: Source):
        # The outbox retries across attempts itself (durably, honouring Retry-After by scheduling,
        # not sleeping), so its sessions do not also retry inside one attempt.
        sessions = self._local.__dict__.setdefault("sessions", {})
        if source.name not in sessions:
            session = session_for(source)
            # read=False: a read timeout is raised as itself (a lost answer), not as a connection error.
            adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=0, raise_on_status=False))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            sessions[source.name] = session
        return sessions[source.name]

    def run_once(self, limit: int | None = None, due_by: datetime | None = None) -> Summary:
        """Claim up to `limit` due items, push them, and record every outcome in one transaction (if the
        worker dies before that, the leases expire and the pushes are repeated: same keys, no harm)."""
        summary = Summary()
        rows = claim(self.engine, self.owner, limit or self.batch, self.lease, due_by)
        if not rows:
            return summary
        with self.engine.connect() as conn:
            items = load_items(conn, [r for r in rows if sid_of(r.source) is None])
            subs = notify.load(conn, {sid for r in rows if (sid := sid_of(r.source)) is not None})
            items.update({r.id: subs.get(sid_of(r.source)) for r in rows if sid_of(r.source) is not None})
        if self.concurrency == 1 or len(rows) < 2:
            outcomes = [self.attempt(row, items[row.id]) for row in rows]
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(rows))) as pool:
                outcomes = list(pool.map(lambda row: self.attempt(row, items[row.id]), rows))
        self._record(outcomes, summary)
        return summary

    def flush(self, limit: int | None = None) -> Summary:
        """Deliver what is due now until nothing is (or `limit` items were attempted). An item that fails
        waits for its next turn even when its back-off is short: one flush tries each item once."""
        total, started = Summary(), fhirtime.now()
        while limit is None or total.attempted < limit:
            batch = self.run_once(self.batch if limit is None else min(self.batch, limit - total.attempted), started)
            if not batch.attempted:
                break
            total.delivered += batch.delivered
            total.retrying += batch.retrying
            total.dead += batch.dead
            total.dropped += batch.dropped
            total.errors += batch.errors
        return total

    def attempt(self, row, item: OutboundItem) -> tuple:
        """Push one item; (row, outcome, detail): outcome delivered | retry | dead (| dropped)."""
        if sid_of(row.source) is not None:
            return self._notify(row, item)
        source = self.config.sources.get(row.source)
        if source is None:
            return row, DEAD, f"source '{row.source}' is not configured any more"
        try:
            delivered: Delivered = PUSH[source.kind](self.session(source), source, item)
        except PushRefused as exc:
            return row, DEAD, f"refused: {exc}"
        except PushFailed as exc:
            return self._failed(row, str(exc), exc.retry_after)
        except Exception as exc:  # a bug or an unexpected answer must not stop the other items
            log.exception("outbox push raised")
            return self._failed(row, f"unexpected error: {type(exc).__name__}", None)
        return row, DELIVERED, delivered.upstream_ref

    def _notify(self, row, sub) -> tuple:
        """A Subscription's handshake or notification; `sub` its row (None: deleted since)."""
        if sub is None or sub.status == "off":
            return row, DROPPED, "the Subscription was deleted or turned off"
        session = self._local.__dict__.get("subscriptions")
        if session is None:
            session = self._local.__dict__["subscriptions"] = requests.Session()
            adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=0, raise_on_status=False))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        try:
            return row, DELIVERED, notify.post(session, sub, row, self.subscription_timeout)
        except PushRefused as exc:
            return row, DEAD, f"refused: {exc}"
        except PushFailed as exc:
            return self._failed(row, str(exc), exc.retry_after)
        except Exception as exc:
            log.exception("subscription notification raised")
            return self._failed(row, f"unexpected error: {type(exc).__name__}", None)

    def _failed(self, row, error: str, retry_after: float | None) -> tuple:
        if row.attempts >= self.policy.max_attempts:
            return row, DEAD, f"gave up after {row.attempts} attempts: {error}"
        return row, "retry", (error, self.policy.delay(row.attempts, retry_after))

    def _record(self, outcomes: list[tuple], summary: Summary) -> None:
        # Only while the lease is ours: if it expired and another worker took the item, that worker
        # records the outcome (its push repeated ours under the same idempotency key).
        now = fhirtime.now()
        ours = [outbox.c.lease_owner == self.owner, outbox.c.state == PENDING]
        released = {"lease_owner": None, "lease_expires_at": None}
        finished, retried = [], []
        for row, outcome, detail in outcomes:
            if outcome == DELIVERED:
                finished.append({"b_id": row.id, "b_state": DELIVERED, "b_ref": detail, "b_error": None})
            elif outcome in (DEAD, DROPPED):
                finished.append({"b_id": row.id, "b_state": outcome, "b_ref": None, "b_error": detail[:2000]})
            else:
                error, wait = detail
                retried.append({"b_id": row.id, "b_error": error[:2000], "b_due": now + timedelta(seconds=wait)})
        mine = [outbox.c.id == bindparam("b_id"), *ours]
        with self.engine.connect().execution_options(write=True) as conn, conn.begin():
            if finished:  # executemany: one round trip for the batch where the driver pipelines
                conn.execute(update(outbox).where(*mine).values(
                    state=bindparam("b_state"), finished_at=now, upstream_ref=bindparam("b_ref"),
                    last_error=bindparam("b_error"), **released), finished)
            if retried:
                conn.execute(update(outbox).where(*mine).values(
                    next_attempt_at=bindparam("b_due"), last_error=bindparam("b_error"), **released), retried)
            followed = [(sid, outcome == DELIVERED, detail if outcome == DEAD else detail[0])
                        for row, outcome, detail in outcomes
                        if (sid := sid_of(row.source)) is not None and outcome != DROPPED]
            if followed:  # the Subscriptions' status, with the outcomes that decide it
                notify.record(conn, followed)
        for row, outcome, detail in outcomes:
            if outcome == DELIVERED:
                summary.delivered += 1
                _event("delivered", row, self.owner, attempts=row.attempts, upstream_ref=detail)
            elif outcome == DEAD:
                summary.dead += 1
                summary.errors.append(detail)
                _event("dead", row, self.owner, attempts=row.attempts, error=detail)
            elif outcome == DROPPED:
                summary.dropped += 1
                _event("dropped", row, self.owner, attempts=row.attempts, reason=detail)
            else:
                summary.retrying += 1
                summary.errors.append(detail[0])
                _event("retry", row, self.owner, attempts=row.attempts, error=detail[0],
                       wait_seconds=round(detail[1], 1))


def _event(event: str, row, owner: str, **fields) -> None:
    """One JSON line per event: ids and outcomes, never a resource body or a credential."""
    log.info(orjson.dumps({"event": f"outbox.{event}", "worker": owner, "item": row.id, "source": row.source,
                           "resource": f"{row.res_type}/{row.res_id}", "version": row.version,
                           "action": row.action, **fields}).decode())
