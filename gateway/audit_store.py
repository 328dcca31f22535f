"""Writing the AuditEvents of disclosures: many at once, their index rows known without extraction.

An audit record stays a full AuditEvent resource (read, vread, search, history and `$everything`
serve it as before, under the same rules), but writing it was ~40 % of a carer's read: a
statement per table per record, and the generic extraction walking the event for its search
and consent rows. Here every record of one commit (the group commit hands over several requests'
records) goes in with one multi-row statement per table, and the rows are built from the
`Disclosure` itself: the event is made by `audit.audit_event`, so which references, codings and
date it holds is known. `tests/gateway/test_audit_store.py` checks the rows equal what the
generic extraction (`index_rows` + `fact_rows`) gives for every shape of record.
"""
from __future__ import annotations

import uuid

import orjson
from sqlalchemy import insert

from consent.model import normalize_ref

from . import audit, fhirtime
from .consent_sql import REF, _target
from .search.extract import _ROWS
from .search.registry import REGISTRY
from .storage.tables import INDEX_TABLES, history_compartment, resource_history, resources

_PARAMS = REGISTRY["AuditEvent"]
# insertmanyvalues: one statement for many rows, RETURNING in the order of the rows given.
_INSERT_RESOURCES = insert(resources).returning(resources.c.rid, sort_by_parameter_order=True)
_INSERT_HISTORY = insert(resource_history).returning(resource_history.c.seq, sort_by_parameter_order=True)
_INSERT_COMPARTMENT = insert(history_compartment)
_INSERT_INDEX = {kind: insert(table) for kind, table in INDEX_TABLES.items()}


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
    for name, values in _values(event).items():
        param = _PARAMS[name]
        seen = set()
        for value in values:
            for row in _ROWS[param.type](param, value):
                key = tuple(sorted(row.items()))
                if key not in seen:
                    seen.add(key)
                    out[param.type].append({"param": name, **row})
    # The consent facts of an AuditEvent are its references only (no codes, date or authors).
    refs = {normalize_ref(w["reference"]) for w in _values(event)["patient"]
            if isinstance(w.get("reference"), str) and not w["reference"].startswith("#")}
    out["reference"] += [{"param": REF, **_target(r)} for r in refs]
    return out


def write(conn, fhir_user: str, client_id: str | None, disclosures: list[audit.Disclosure]) -> None:
    """Store one AuditEvent per disclosure in `conn`'s current transaction, with a statement per
    table for all of them."""
    if not disclosures:
        return
    now = fhirtime.now()
    stamp = fhirtime.instant(now)
    events = []
    for d in disclosures:
        event = audit.audit_event(fhir_user, client_id, d, recorded=stamp)
        events.append({"resourceType": "AuditEvent", "id": str(uuid.uuid4()),
                       "meta": {"versionId": "1", "lastUpdated": stamp},
                       **{k: v for k, v in event.items() if k != "resourceType"}})
    bodies = [orjson.dumps(e) for e in events]
    rids = conn.execute(_INSERT_RESOURCES, [
        {"res_type": "AuditEvent", "res_id": e["id"], "version": 1, "last_updated": now, "deleted": False,
         "body": b} for e, b in zip(events, bodies)]).scalars().all()
    seqs = conn.execute(_INSERT_HISTORY, [
        {"res_type": "AuditEvent", "res_id": e["id"], "version": 1, "last_updated": now, "method": "POST",
         "body": b} for e, b in zip(events, bodies)]).scalars().all()
    compartment: list[dict] = []
    rows: dict[str, list[dict]] = {kind: [] for kind in INDEX_TABLES}
    for event, rid, seq in zip(events, rids, seqs):
        found = index_rows_of(event)
        patients = {r["target_id"] for r in found["reference"]
                    if r["param"] == "patient" and r["target_type"] == "Patient"}
        compartment += [{"seq": seq, "patient_id": p} for p in sorted(patients)]
        for kind, part in found.items():
            rows[kind] += [{**r, "rid": rid, "res_type": "AuditEvent"} for r in part]
    if compartment:
        conn.execute(_INSERT_COMPARTMENT, compartment)
    for kind, part in rows.items():
        if part:
            conn.execute(_INSERT_INDEX[kind], part)
