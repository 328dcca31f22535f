"""Storing one page of upstream changes: identity matching, meta.source, links, quarantine.

Each upstream resource gets a local id derived from its upstream identity (source + type + id), so
a re-sync finds and updates it and never duplicates it, and references between a source's
resources map to local ids without a lookup, in any order. What a source stores carries
`meta.source` (the source's URI) and an identifier naming the upstream id. A record that fails
mapping or validation is quarantined with the reason, inside a savepoint, and the page goes on.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from datetime import datetime

import orjson
from sqlalchemy import and_, delete, func, insert, select, update

from connectors.base import Change, Page
from connectors.config import Source

from . import fhirtime
from .errors import FhirError
from .repository import Repository
from .resource_types import SERVED
from .storage.tables import quarantine, resources, sync_links, sync_records
from .validation import validate_resource

SOURCE_PREFIX = "urn:samenzorg:source:"
NOT_SYNCED = frozenset({"AuditEvent", "Provenance", "Subscription"})  # the gateway's own records
_REF = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


class Refused(Exception):
    """A record this sync may not store (e.g. its id holds a resource someone else wrote)."""


@dataclass
class Counts:
    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def add(self, other: "Counts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def local_id(source_name: str, res_type: str, upstream_id: str) -> str:
    """The local id of an upstream resource: the same identity always gives the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{SOURCE_PREFIX}{source_name}/{res_type}/{upstream_id}"))


def record_key(change: Change) -> str:
    return f"{change.identity.res_type}/{change.identity.upstream_id}"[:255]


def store_page(conn, source: Source, page: Page) -> Counts:
    """Store every change of one page in the caller's transaction; bad records go to quarantine."""
    repo = Repository(conn)
    counts = Counts(fetched=page.fetched)
    for change in page.changes:
        counts.add(store_change(conn, repo, source, change))
    return counts


def store_change(conn, repo: Repository, source: Source, change: Change) -> Counts:
    record = record_key(change)
    if change.error:
        put_in_quarantine(conn, source.name, record, change.raw, change.error)
        return Counts(quarantined=1)
    savepoint = conn.begin_nested()
    try:
        counts = _apply(conn, repo, source, record, change)
    except (FhirError, Refused) as exc:
        savepoint.rollback()
        put_in_quarantine(conn, source.name, record, change.raw, _reason(exc))
        return Counts(quarantined=1)
    savepoint.commit()
    conn.execute(delete(quarantine).where(quarantine.c.source == source.name, quarantine.c.record == record))
    return counts


def _reason(exc: Exception) -> str:
    if isinstance(exc, FhirError):
        return "; ".join(i.diagnostics + (f" ({', '.join(i.expression)})" if i.expression else "")
                         for i in exc.issues)[:4000]
    return str(exc)[:4000]


def put_in_quarantine(conn, source_name: str, record: str, raw: str, reason: str) -> None:
    q = quarantine
    now = fhirtime.now()
    done = conn.execute(update(q).where(q.c.source == source_name, q.c.record == record)
                        .values(raw=raw, reason=reason, received=now, attempts=q.c.attempts + 1)).rowcount
    if not done:
        conn.execute(insert(q).values(source=source_name, record=record, raw=raw, reason=reason, received=now,
                                      attempts=1))


def _apply(conn, repo: Repository, source: Source, record: str, change: Change) -> Counts:
    counts = Counts()
    wanted: dict[tuple[str, str], dict] = {}
    for resource in change.resources:
        wanted[(resource["resourceType"], str(resource["id"]))] = resource
    if change.deleted and _older_than_stored(conn, source.name, change.identity.res_type,
                                             change.identity.upstream_id, _parse(change.updated), None):
        counts.unchanged += 1  # a newer version was stored already (history comes newest first)
        return counts
    for (res_type, upstream_id), resource in wanted.items():
        outcome = _store_resource(conn, repo, source, res_type, upstream_id, resource)
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    l = sync_links
    old = {(r.res_type, r.upstream_id) for r in conn.execute(
        select(l.c.res_type, l.c.upstream_id).where(l.c.source == source.name, l.c.record == record))}
    gone = old - set(wanted)
    for res_type, upstream_id in gone:
        conn.execute(delete(l).where(l.c.source == source.name, l.c.record == record, l.c.res_type == res_type,
                                     l.c.upstream_id == upstream_id))
    new = set(wanted) - old
    if new:
        conn.execute(insert(l), [{"source": source.name, "record": record, "res_type": t, "upstream_id": u}
                                 for t, u in sorted(new)])
    if change.deleted:  # a deletion of a resource that no record lists (e.g. never synced whole)
        gone |= {(change.identity.res_type, change.identity.upstream_id)}
    for res_type, upstream_id in sorted(gone):
        still = conn.execute(select(func.count()).select_from(l).where(
            l.c.source == source.name, l.c.res_type == res_type, l.c.upstream_id == upstream_id)).scalar_one()
        if not still and _delete_resource(conn, repo, source, res_type, upstream_id, _parse(change.updated)):
            counts.deleted += 1
    return counts


def _store_resource(conn, repo: Repository, source: Source, res_type: str, upstream_id: str, resource: dict) -> str:
    """Create or update the local copy; returns created, updated or unchanged."""
    if res_type in NOT_SYNCED or res_type not in SERVED:
        raise Refused(f"{res_type} is not a type a source may deliver")
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    up_updated, up_version = _parse(meta.get("lastUpdated")), meta.get("versionId")
    known = _record(conn, source.name, res_type, upstream_id)
    if _older(known, up_updated, up_version):
        return "unchanged"
    lid = local_id(source.name, res_type, upstream_id)
    body = _localised(resource, source, res_type, upstream_id, lid)
    body = validate_resource(body, expected_type=res_type, expected_id=lid)
    current = conn.execute(select(resources.c.body, resources.c.deleted).where(
        resources.c.res_type == res_type, resources.c.res_id == lid)).first()
    if current is not None and current.body is not None:
        holder = (orjson.loads(current.body).get("meta") or {}).get("source")
        if holder != source.uri:
            raise Refused(f"{res_type}/{lid} holds a resource this source did not write; it is left alone")
    _, outcome = repo.update(res_type, lid, body)
    _remember(conn, source.name, res_type, upstream_id, lid, up_updated, up_version, deleted=False,
              exists=known is not None)
    return outcome


def _delete_resource(conn, repo: Repository, source: Source, res_type: str, upstream_id: str,
                     when: datetime | None) -> bool:
    lid = local_id(source.name, res_type, upstream_id)
    current = conn.execute(select(resources.c.body, resources.c.deleted).where(
        resources.c.res_type == res_type, resources.c.res_id == lid)).first()
    _remember(conn, source.name, res_type, upstream_id, lid, when, None, deleted=True)
    if current is None or current.deleted or current.body is None:
        return False
    if (orjson.loads(current.body).get("meta") or {}).get("source") != source.uri:
        return False  # never delete what someone else wrote
    return repo.delete(res_type, lid) is not None


def _record(conn, source_name, res_type, upstream_id):
    r = sync_records
    return conn.execute(select(r.c.upstream_updated, r.c.upstream_version).where(
        r.c.source == source_name, r.c.res_type == res_type, r.c.upstream_id == upstream_id)).first()


def _older_than_stored(conn, source_name, res_type, upstream_id, updated, version) -> bool:
    return _older(_record(conn, source_name, res_type, upstream_id), updated, version)


def _older(row, updated, version) -> bool:
    """Whether an incoming upstream version is older than the one stored (by lastUpdated, then versionId)."""
    if row is None or row.upstream_updated is None or updated is None:
        return False
    if updated != row.upstream_updated:
        return updated < row.upstream_updated
    return bool(version and row.upstream_version and version.isdigit() and row.upstream_version.isdigit()
                and int(version) < int(row.upstream_version))


def _remember(conn, source_name, res_type, upstream_id, lid, updated, version, *, deleted: bool,
              exists: bool = True) -> None:
    r = sync_records
    key = and_(r.c.source == source_name, r.c.res_type == res_type, r.c.upstream_id == upstream_id)
    values = {"local_id": lid, "upstream_updated": updated, "upstream_version": version, "deleted": deleted}
    if not exists or not conn.execute(update(r).where(key).values(**values)).rowcount:
        conn.execute(insert(r).values(source=source_name, res_type=res_type, upstream_id=upstream_id, **values))


def _parse(instant) -> datetime | None:
    if not isinstance(instant, str):
        return None
    try:
        return fhirtime.parse_instant(instant)
    except (ValueError, OverflowError):
        return None


def _localised(resource: dict, source: Source, res_type: str, upstream_id: str, lid: str) -> dict:
    """The upstream resource as stored here: local id and references, meta.source, the upstream id."""
    body = _local_refs(resource, source.name)
    meta = {k: v for k, v in (body.get("meta") or {}).items() if k not in ("versionId", "lastUpdated", "source")}
    body["meta"] = {**meta, "source": source.uri}
    body["id"] = lid
    upstream = {"system": source.uri, "value": f"{res_type}/{upstream_id}"}
    identifiers = [i for i in body.get("identifier") or [] if not (isinstance(i, dict)
                                                                    and i.get("system") == source.uri)]
    body["identifier"] = identifiers + [upstream]
    return body


def _local_refs(value, source_name: str):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str) and (m := _REF.match(v)) and m.group(1) in SERVED:
                v = f"{m.group(1)}/{local_id(source_name, m.group(1), m.group(2))}"
            out[k] = _local_refs(v, source_name)
        return out
    if isinstance(value, list):
        return [_local_refs(v, source_name) for v in value]
    return value
