"""Storing the AuditEvents of disclosures: appended as one compact row, settled into resources later.

A carer's read may not answer before the record of what it disclosed is durable (NEN 7513;
DESIGN.md, audit before disclosure). Storing that record as a full AuditEvent resource (its
current row, a history version, its compartment and its search and consent rows) was about half
of a carer's read. So a request only *appends* the whole event, as it will be served, to
`audit_log`: one row, one multi-row statement per commit (the group commit hands over several
requests' records). That row is the durable record.

Before anything may read AuditEvents (`may_read`: AuditEvent reads and searches, includes, `_has`
and `_type` naming the type, system-level searches and history, operations, bundles), the
gateway *settles* the log (`settle_all`): each row becomes the AuditEvent resource every read
path serves under the same rules (read, vread, search, history, `$everything`, the agent rule for
carers), with `meta.lastUpdated` its recorded time. `samenzorg worker` settles in the background
too, so the log stays short. Settling takes rows in order under a lock (FOR UPDATE on PostgreSQL,
the write lock on SQLite) and deletes them in the same transaction, so each row becomes exactly
one AuditEvent, and a reader that settled sees every record committed before it began. A carer who
is not the client's representative may see only her own access trail, so before her reads only the
records of what was shown to her are settled (`shown_to`, by `audit_log.agent`).

The rows of a settled event are built from the event itself (it was made by `audit.audit_event`,
so which references, codings and date it holds is known); `tests/gateway/test_audit_store.py`
checks they equal what the generic extraction (`index_rows` + `fact_rows`) gives.
"""
from __future__ import annotations

import functools
import uuid
from datetime import datetime
from urllib.parse import unquote_plus

import orjson
from sqlalchemy import DateTime, bindparam, delete, insert, or_, select

from consent.model import normalize_ref

from . import audit, fhirtime
from .consent_sql import REF, _target
from .search.extract import _ROWS
from .search.registry import REGISTRY
from .storage.db import connect
from .storage.direct import Direct
from .storage.tables import INDEX_TABLES, audit_log, history_compartment, resource_history, resources

_PARAMS = REGISTRY["AuditEvent"]
_APPEND = Direct(insert(audit_log), ["recorded", "body", "agent"])  # every carer request
_ANY = select(audit_log.c.seq).limit(1)
_SHOWN_TO = or_(audit_log.c.agent == bindparam("k_agent"), audit_log.c.agent.is_(None))  # None: anyone's
_ANY_SHOWN_TO = Direct(select(audit_log.c.seq).where(_SHOWN_TO).limit(1))
_OLDEST = select(audit_log.c.seq, audit_log.c.recorded, audit_log.c.body).order_by(audit_log.c.seq)
_SETTLED = delete(audit_log).where(audit_log.c.seq.in_(bindparam("k_seqs", expanding=True)))
# insertmanyvalues: one statement for many rows, RETURNING in the order of the rows given.
_INSERT_RESOURCES = insert(resources).returning(resources.c.rid, sort_by_parameter_order=True)
_INSERT_HISTORY = insert(resource_history).returning(resource_history.c.seq, sort_by_parameter_order=True)
_INSERT_COMPARTMENT = insert(history_compartment)
_INSERT_INDEX = {kind: insert(table) for kind, table in INDEX_TABLES.items()}
BATCH = 500


# -- appending: what a request pays ------------------------------------------------------------
def events(fhir_user: str, client_id: str | None, disclosures: list[audit.Disclosure],
           now: datetime) -> list[dict]:
    """One whole AuditEvent per disclosure, with its id and meta, recorded at `now`."""
    stamp = fhirtime.instant(now)
    return [{"resourceType": "AuditEvent", "id": str(uuid.uuid4()),
             "meta": {"versionId": "1", "lastUpdated": stamp},
             **{k: v for k, v in audit.audit_event(fhir_user, client_id, d, recorded=stamp).items()
                if k != "resourceType"}}
            for d in disclosures]


def append(conn, fhir_user: str, client_id: str | None, disclosures: list[audit.Disclosure]) -> None:
    """Append one row per disclosure to the audit log, in `conn`'s current transaction."""
    if not disclosures:
        return
    now = fhirtime.now()
    _APPEND.execute_many(conn, [{"recorded": now, "body": orjson.dumps(e), "agent": fhir_user}
                                for e in events(fhir_user, client_id, disclosures, now)])


# -- settling: before AuditEvents are read -----------------------------------------------------
def may_read(method: str, path: str, query: list[tuple[str, str]], body) -> bool:
    """Whether a FHIR request may read stored AuditEvents (so the log must be settled first)."""
    head = path.split("/", 1)[0]
    if head == "AuditEvent" or head.startswith(("_", "$")) or "$" in path:
        return True
    if any("AuditEvent" in k or "AuditEvent" in v or (k.startswith(("_include", "_revinclude")) and v == "*")
           for k, v in query):  # `_revinclude=*` reaches every type that points here, AuditEvent too
        return True
    if head == "":  # a batch or transaction: any entry that may read them
        entries = body.get("entry") if isinstance(body, dict) else None
        return method != "POST" or any(_entry_may_read(e) for e in entries or () if isinstance(e, dict))
    return False


def _entry_may_read(entry: dict) -> bool:
    request = entry.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        return False
    url = request["url"]
    if "AuditEvent" in unquote_plus(url):
        return True
    path, _, _ = url.partition("?")
    return request.get("method") in ("GET", "HEAD") and may_read("GET", path.strip("/"), [], None)


def pending(engine, shown_to: str | None = None) -> bool:
    """Whether the log holds records (`shown_to`: records of what was shown to this agent)."""
    # A read connection (storage.db.connect): on PostgreSQL outside a transaction, so closing it
    # keeps what psycopg prepared (each of `$everything`'s 14 KB statements took 4-8 ms to plan
    # again at 10,000 clients when it did not).
    with connect(engine) as conn:
        if shown_to is None:
            return conn.execute(_ANY).first() is not None
        return _ANY_SHOWN_TO.first(conn, {"k_agent": shown_to}) is not None


def settle_all(engine, *, batch: int = BATCH, batches: int | None = None, shown_to: str | None = None) -> int:
    """Settle the log, a transaction per `batch` rows, until it is empty (or `batches` are done);
    returns how many records were settled. Costs one small query when nothing is pending.
    `shown_to`: only the records of what was shown to this agent (a carer, whose own access trail
    is all they may see of AuditEvents). Settling everyone's made a carer's `$everything` wait for
    the whole log: a third of its time when each settled a few, over a second for the one that met
    a backlog; the rest is settled by `samenzorg worker` and by readers who may see it."""
    if not pending(engine, shown_to):
        return 0
    total, done = 0, 0
    while batches is None or done < batches:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            settled = settle(conn, batch, shown_to)
        total, done = total + settled, done + 1
        # Only an empty batch says the log is settled (a short one says nothing about rows that
        # other settlers held or that were appended meanwhile); it costs one small transaction.
        if settled == 0:
            break
    return total


def settle(conn, limit: int = BATCH, shown_to: str | None = None) -> int:
    """Turn the oldest `limit` rows of the log (`shown_to`: of those shown to this agent) into
    AuditEvent resources, in `conn`'s transaction."""
    q = (_OLDEST if shown_to is None else _OLDEST.where(_SHOWN_TO)).limit(limit)
    if conn.dialect.name != "sqlite":  # a concurrent settler waits, then finds these rows gone
        q = q.with_for_update()
    rows = conn.execute(q, {} if shown_to is None else {"k_agent": shown_to}).all()
    if rows:
        store(conn, [(r.recorded, r.body) for r in rows])
        conn.execute(_SETTLED, {"k_seqs": [r.seq for r in rows]})
    return len(rows)


def store(conn, records: list[tuple[datetime, bytes]]) -> None:
    """Store whole AuditEvents (recorded time, body) as resources with their history, compartment
    and index rows: a statement per table for all of them."""
    bodies = [b for _, b in records]
    parsed = [orjson.loads(b) for b in bodies]
    rids = conn.execute(_INSERT_RESOURCES, [
        {"res_type": "AuditEvent", "res_id": e["id"], "version": 1, "last_updated": t, "deleted": False,
         "body": b} for e, (t, b) in zip(parsed, records)]).scalars().all()
    seqs = conn.execute(_INSERT_HISTORY, [
        {"res_type": "AuditEvent", "res_id": e["id"], "version": 1, "last_updated": t, "method": "POST",
         "body": b} for e, (t, b) in zip(parsed, records)]).scalars().all()
    compartment: list[dict] = []
    rows: dict[str, list[dict]] = {kind: [] for kind in INDEX_TABLES}
    for event, rid, seq in zip(parsed, rids, seqs):
        found = index_rows_of(event)
        patients = {r["target_id"] for r in found["reference"]
                    if r["param"] == "patient" and r["target_type"] == "Patient"}
        compartment += [{"seq": seq, "patient_id": p} for p in sorted(patients)]
        for kind, part in found.items():
            rows[kind] += [{**r, "rid": rid, "res_type": "AuditEvent"} for r in part]
    if compartment:
        conn.execute(_INSERT_COMPARTMENT, compartment)
    for kind, part in rows.items():
        if not part:
            continue
        if kind in _PLAIN:  # tens of rows per event: straight to the driver's executemany
            columns, sql = _PLAIN[kind]
            marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(sql.format(marker), [tuple(r.get(c) for c in columns) for r in part])
        else:  # dates: through their column type (how each database is given a datetime)
            conn.execute(_INSERT_INDEX[kind], part)


def _plain_insert(table) -> tuple[list[str], str]:
    columns = [c.name for c in table.columns]
    return columns, f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['{0}'] * len(columns))})"


# Index tables of strings only: their rows need no type processing, and SQLAlchemy's per-row
# parameter work was a fifth of settling a search's audit record (~57 rows each).
_PLAIN = {kind: _plain_insert(t) for kind, t in INDEX_TABLES.items()
          if all(not isinstance(c.type, DateTime) for c in t.columns)}


def _rows_of(param, value) -> tuple:
    """A value's rows for a parameter, each as sorted (column, value) pairs. The references of the
    records settled together repeat (the same client, carer and resources): those are kept."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("reference"), str):
        return _reference_rows_of(param, value["reference"])
    return tuple(tuple(sorted(row.items())) for row in _ROWS[param.type](param, value))


@functools.lru_cache(maxsize=16384)
def _reference_rows_of(param, reference: str) -> tuple:
    return tuple(tuple(sorted(row.items())) for row in _ROWS[param.type](param, {"reference": reference}))


@functools.lru_cache(maxsize=16384)
def _fact_of(reference: str) -> tuple:
    return tuple(sorted(_target(normalize_ref(reference)).items()))


def _values(event: dict) -> dict[str, list]:
    """Each AuditEvent search parameter's values in an event made by `audit.audit_event`, in the
    order the registry's paths find them (agent.who, then entity.what)."""
    agents = [a["who"] for a in event["agent"]]
    entities = [e["what"] for e in event.get("entity", ()) if "what" in e]
    return {"patient": agents + entities, "agent": agents, "entity": entities,
            "source": [event["source"]["observer"]], "date": [event["recorded"]], "type": [event["type"]],
            "subtype": event["subtype"], "action": [event["action"]], "outcome": [event["outcome"]]}


def index_rows_of(event: dict) -> dict[str, list[dict]]:
    """The search and consent-fact rows of one event, as `_reindex` would write them."""
    out: dict[str, list[dict]] = {"token": [], "string": [], "reference": [], "date": [], "uri": []}
    values = _values(event)
    for name, found in values.items():
        param = _PARAMS[name]
        seen = set()
        for value in found:
            for key in _rows_of(param, value):
                if key not in seen:
                    seen.add(key)
                    out[param.type].append({"param": name, **dict(key)})
    # The consent facts of an AuditEvent are its references only (no codes, date or authors).
    facts = dict.fromkeys(_fact_of(w["reference"]) for w in values["patient"]
                          if isinstance(w.get("reference"), str) and not w["reference"].startswith("#"))
    out["reference"] += [{"param": REF, **dict(f)} for f in facts]
    return out
