"""Delivering a Subscription's outbox items: the rest-hook POST, and the status that follows.

R4 rest-hook: the server POSTs to `channel.endpoint` with `channel.header`s. Without a payload the
body is empty; with `application/fhir+json` it is a `history` Bundle whose entries name what
changed (fullUrl, request, response) and carry no resource: the receiver reads it with its own
token, so consent is enforced on that read too. A handshake ping has the same shape, no entries.

Status: `requested` → `active` after a ping the endpoint accepts; `error` (with the reason) after
`FAILURES_FOR_ERROR` failed deliveries in a row, or when an item is dead; back to `active` when a
later delivery works (R4: the server keeps trying a subscription in error). `off` once its `end`
has passed (`turn_off_ended`, a worker job; matching ignores it from that instant on).
"""
from __future__ import annotations

import orjson
import requests
from sqlalchemy import select, update

from connectors.base import PushFailed, PushRefused

from .. import fhirtime
from ..storage.tables import resources, subscriptions
from .lifecycle import PING

FAILURES_FOR_ERROR = 3


def load(conn, sids: set[int]) -> dict:
    if not sids:
        return {}
    return {r.sid: r for r in conn.execute(select(subscriptions).where(subscriptions.c.sid.in_(sorted(sids))))}


def message(sub, row) -> tuple[bytes, dict]:
    """The body and headers of one POST (never a resource body)."""
    headers = {}
    for line in orjson.loads(sub.headers):
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    headers["X-Samenzorg-Subscription"] = f"Subscription/{sub.res_id}"
    if sub.payload is None:
        return b"", headers
    entries = []
    if row.action != PING:
        base = sub.base_url.rstrip("/")
        ref = f"{row.res_type}/{row.res_id}"
        created = row.action == "create"
        entries.append({
            "fullUrl": f"{base}/{ref}",
            "request": {"method": "POST" if created else "PUT", "url": row.res_type if created else ref},
            "response": {"status": "201 Created" if created else "200 OK", "etag": f'W/"{row.version}"',
                         "location": f"{ref}/_history/{row.version}"},
        })
    bundle = {"resourceType": "Bundle", "type": "history", "timestamp": fhirtime.instant(fhirtime.now()),
              "total": len(entries), "entry": entries}
    headers["Content-Type"] = f"{sub.payload}; charset=utf-8"
    return orjson.dumps(bundle), headers


def post(session: requests.Session, sub, row, timeout: float) -> str:
    """One POST; raises PushFailed (retry) or PushRefused (dead). Returns what the outbox records."""
    body, headers = message(sub, row)
    try:
        resp = session.post(sub.endpoint, data=body, headers=headers, timeout=(timeout, timeout),
                            allow_redirects=False)
    except requests.Timeout:
        raise PushFailed("timed out waiting for the subscriber's endpoint") from None
    except requests.ConnectionError:
        raise PushFailed("could not connect to the subscriber's endpoint") from None
    if 200 <= resp.status_code < 300:
        return f"HTTP {resp.status_code}"
    retry_after = resp.headers.get("Retry-After")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    if resp.status_code in (408, 425, 429) or resp.status_code >= 500:
        raise PushFailed(f"the endpoint answered HTTP {resp.status_code}", retry_after=wait)
    # 3xx (redirects are not followed: the endpoint is what the owner registered) and other 4xx.
    raise PushRefused(f"the endpoint answered HTTP {resp.status_code}")


def record(conn, outcomes: list[tuple]) -> None:
    """Bring each Subscription's status in line with what its deliveries did, in order; a status
    change is a new version of the Subscription resource (as the owner will read it)."""
    found = load(conn, {sid for sid, _, _ in outcomes})
    state = {sid: (r.status, r.failures, r.error) for sid, r in found.items()}
    for sid, worked, error in outcomes:
        if sid not in state or state[sid][0] == "off":
            continue
        before = state[sid]
        if worked:
            after = ("active", 0, None)
        else:
            failures = before[1] + 1
            dead = error.startswith(("gave up", "refused"))
            status = "error" if dead or failures >= FAILURES_FOR_ERROR else before[0]
            after = (status, failures, error if status == "error" else before[2])
        state[sid] = after
        if after != before:
            conn.execute(update(subscriptions).where(subscriptions.c.sid == sid)
                         .values(status=after[0], failures=after[1], error=after[2]))
        if (after[0], after[2]) != (before[0], before[2]):
            _write_status(conn, found[sid].res_id, after[0], after[2])


def turn_off_ended(engine) -> int:
    """Turn off the Subscriptions whose `end` has passed (a new version with status `off`, as the
    owner will read it); how many."""
    ended = select(subscriptions.c.sid, subscriptions.c.res_id).where(
        subscriptions.c.ends_at <= fhirtime.now(), subscriptions.c.status != "off").order_by(subscriptions.c.sid)
    with engine.connect() as conn:  # every worker pass: a read, no write transaction (SQLite's write lock)
        if conn.execute(ended.limit(1)).first() is None:
            return 0
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        ended = conn.execute(ended).all()
        for sid, res_id in ended:
            conn.execute(update(subscriptions).where(subscriptions.c.sid == sid).values(status="off"))
            _write_status(conn, res_id, "off", None)
    return len(ended)


def _write_status(conn, res_id: str, status: str, error: str | None) -> None:
    from ..repository import Repository  # the server itself writes the status: no access check applies

    current = conn.execute(select(resources).where(resources.c.res_type == "Subscription",
                                                   resources.c.res_id == res_id)).first()
    if current is None or current.deleted or current.body is None:
        return
    body = {k: v for k, v in orjson.loads(current.body).items() if k != "error"}
    body["status"] = status
    if error:
        body["error"] = error[:1000]
    Repository(conn)._write("Subscription", res_id, body, "PUT", current)
