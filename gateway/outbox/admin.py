"""What `samenzorg outbox list|retry|drop` does: read and correct the outbox by hand."""
from __future__ import annotations

from sqlalchemy import func, select, update

from .. import fhirtime
from ..storage.tables import outbox
from .delivery import DEAD, DELIVERED, DROPPED, PENDING

STATES = (PENDING, DELIVERED, DEAD, DROPPED)


def counts(conn) -> dict[str, int]:
    """Items per state (every state named, zero included): the numbers that must reconcile."""
    found = dict(conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
    return {state: found.get(state, 0) for state in STATES}


def items(conn, *, state: str | None = None, source: str | None = None, limit: int = 100) -> list:
    q = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if state:
        q = q.where(outbox.c.state == state)
    if source:
        q = q.where(outbox.c.source == source)
    return conn.execute(q).all()


def retry(conn, ids: list[int] | None) -> int:
    """Dead or dropped items (these ids, or every dead one) are due again now, with fresh attempts;
    their last error stays until the next attempt replaces it."""
    q = update(outbox).where(outbox.c.state.in_((DEAD, DROPPED)))
    q = q.where(outbox.c.id.in_(ids)) if ids else q.where(outbox.c.state == DEAD)
    return conn.execute(q.values(state=PENDING, attempts=0, next_attempt_at=fhirtime.now(), finished_at=None,
                                 lease_owner=None, lease_expires_at=None)).rowcount


def drop(conn, ids: list[int]) -> int:
    """Give up on pending or dead items on purpose: kept (as dropped) so the count still reconciles and
    `retry` can bring them back; a delivered item cannot be dropped."""
    return conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.state.in_((PENDING, DEAD)))
                        .values(state=DROPPED, finished_at=fhirtime.now(), lease_owner=None,
                                lease_expires_at=None)).rowcount
