"""A Subscription's create, update and delete as the repository runs them (same transaction).

Create and update check the channel (rules), keep the owner's access (store) and, when the
Subscription is `requested`, owe a handshake ping to its endpoint (outbox): the worker's first
successful POST makes it `active`.
"""
from __future__ import annotations

import uuid

from sqlalchemy import insert

from .. import fhirtime
from ..storage.tables import outbox
from . import rules, store

PING = "ping"  # the outbox action of a handshake


def before_write(repo, resource: dict, current: dict | None) -> tuple[dict, rules.Channel]:
    """The resource as it will be stored (status settled), and its channel; refuses (422) what
    is not offered and (404) someone else's Subscription."""
    if current is not None:
        store.require_owner(repo.conn, repo.access, resource["id"])
    channel = rules.channel_of(resource, repo.allow_http_endpoints)
    changed = current is None or any(resource.get(k) != current.get(k) for k in ("criteria", "channel"))
    return rules.settle_status(resource, current, changed, fhirtime.now()), channel


def after_write(repo, stored, resource: dict, channel: rules.Channel) -> None:
    sid = store.save(repo.conn, repo.access, stored.res_id, channel, resource["status"], repo.base_url,
                     rules.ends_at(resource))
    if resource["status"] == "requested":
        now = fhirtime.now()
        key = uuid.uuid4().hex
        repo.conn.execute(insert(outbox).values(
            source=store.source_of(sid), idempotency_key=key, resource_key=key, action=PING,
            res_type="Subscription", res_id=stored.res_id, version=stored.version, patient_id="",
            state="pending", attempts=0, created_at=now, next_attempt_at=now))


def before_delete(repo, res_id: str) -> None:
    store.require_owner(repo.conn, repo.access, res_id)


def after_delete(repo, res_id: str) -> None:
    """Pending notifications of a deleted Subscription are dropped when the worker reaches them."""
    store.forget(repo.conn, res_id)
