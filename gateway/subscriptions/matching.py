"""Matching a write to Subscriptions, in the write's transaction, under each owner's access.

A new version notifies a Subscription only if it matches the criteria AND the owner may see it
now: the criteria search runs restricted to the written id through the owner's own
`Repository.clause` (scopes, role, CareTeams, the client's Consent as it stands in this very
transaction), so a revoked Consent stops notifications at once. What is owed goes into the
outbox with the write, so a notification is never lost and never sent for a rolled-back write.
The cost when nobody subscribes to the written type: on PostgreSQL one EXISTS inside the write's
own history insert (`subscribed`), no extra round trip; on SQLite one indexed query.
"""
from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

from sqlalchemy import bindparam, exists, insert, or_, select

from .. import fhirtime
from ..policy import patient_of
from ..scopes import READ, SEARCH
from ..search import match
from ..storage.tables import outbox, subscriptions
from .rules import NOT_SUBSCRIBABLE
from .store import owner_access, source_of

# Subscriptions in error are still matched: R4 lets the server keep trying, and a delivery that
# works sets them active again. One past its `end` is not, from that instant on (the worker then
# turns it off: notify.turn_off_ended).
_LIVE = (select(subscriptions.c.sid, subscriptions.c.res_id, subscriptions.c.role, subscriptions.c.fhir_user,
                subscriptions.c.scopes, subscriptions.c.client_id, subscriptions.c.subject,
                subscriptions.c.launch_patient, subscriptions.c.criteria)
         .where(subscriptions.c.criteria_type == bindparam("k_type"),
                subscriptions.c.status.in_(("active", "error")),
                or_(subscriptions.c.ends_at.is_(None), subscriptions.c.ends_at > bindparam("k_now")))
         .order_by(subscriptions.c.sid))


def subscribed(res_type_param: str):
    """Whether a live Subscription watches a type (given as the bound parameter `res_type_param`), as
    an expression: the repository asks it in the RETURNING of its history insert, no round trip of
    its own."""
    return exists().where(subscriptions.c.criteria_type == bindparam(res_type_param),
                          subscriptions.c.status.in_(("active", "error")))


# The same question straight to SQLite's driver, on the write's own connection and transaction:
# SQLAlchemy's per-execution work would be most of its cost.
_ANY = "SELECT 1 FROM subscriptions WHERE criteria_type = ? AND status IN ('active', 'error') LIMIT 1"


def anyone_subscribed(conn, res_type: str) -> bool:
    return conn.connection.driver_connection.execute(_ANY, (res_type,)).fetchone() is not None


def notify(repo, res_type: str, res_id: str, version: int, action: str, body: dict | None) -> int:
    """Enqueue a notification per matching Subscription; how many. A delete matches no criteria
    (the resource is gone from search), so it notifies nobody."""
    if action == "delete" or res_type in NOT_SUBSCRIBABLE:
        return 0
    now = fhirtime.now()
    live = repo.conn.execute(_LIVE, {"k_type": res_type, "k_now": now}).all()
    if not live:
        return 0
    from ..repository import Repository  # the owner's own repository: the same access clause as search

    owed = []
    for sub in live:
        owner = Repository(repo.conn, owner_access(sub))
        if not (owner.access.allows(SEARCH, res_type) or owner.access.allows(READ, res_type)):
            continue
        params = parse_qsl(sub.criteria, keep_blank_values=True) + [("_id", res_id)]
        if not match(repo.conn, res_type, params, restrict=owner.clause, limit=1):
            continue
        key = uuid.uuid4().hex
        owed.append(dict(source=source_of(sub.sid), idempotency_key=key, resource_key=key, action=action,
                         res_type=res_type, res_id=res_id, version=version,
                         patient_id=(patient_of(body or {}) or "").partition("/")[2], state="pending",
                         attempts=0, created_at=now, next_attempt_at=now))
        if owner.policy.audited:
            # A notification names the resource to its owner: a disclosure of its id, like a search.
            owner._audit("search-type", [(f"{res_type}/{res_id}", body)],
                         query=f"{res_type}?{sub.criteria}" if sub.criteria else res_type,
                         detail=f"notified through Subscription/{sub.res_id}")
            owner.flush_audits()
    if owed:
        repo.conn.execute(insert(outbox), owed)
    return len(owed)
