"""`csv`: the flat exports older ECDs produce — clients, contacts, agreements, logbook.

Each export is a CSV file (from a folder, or `GET <base_url>/<file>`), its columns named by the
config: `options.columns.<file>` maps our field names to the ECD's headers (a field not mapped
is looked for under its own name). The rows of one client make one care-network document, which
the pure `mappings` package turns into FHIR, so a csv client syncs exactly like a network-json
one. Fields (`*` required):

    clients     id*, bsn*, family*, given, birthDate*, gender, phone, street, postalCode, city, network
    contacts    client*, id*, kind (informal|professional), family*, given, relationship, roles,
                phone, email, discipline, agb
    agreements  client*, id*, activity*, category*, performers* (contact ids), description, status,
                start, end
    logbook     client*, id*, author* (contact id or "client"), time*, text*, topic

Lists (given, roles, performers) are separated by `|`. The exports hold no sharing choices: the
client's Consent is made in Samenzorg (or the ECD sends network-json instead).

A csv export has no change feed: the cursor keeps a hash of each client's rows, so a run stores only
the clients whose rows changed, and deletes those no longer exported.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Iterator

import orjson

from .base import Change, Connector, Page, UpstreamId, kind
from .network_json import RECORD_TYPE, network_change
from .pulling import UpstreamError, get_bytes

FILES = {"clients": "clients.csv", "contacts": "contacts.csv", "agreements": "agreements.csv",
         "logbook": "logbook.csv"}
FIELDS = {
    "clients": ("id", "bsn", "family", "given", "birthDate", "gender", "phone", "street", "postalCode", "city",
                "network"),
    "contacts": ("client", "id", "kind", "family", "given", "relationship", "roles", "phone", "email", "discipline",
                 "agb"),
    "agreements": ("client", "id", "activity", "category", "performers", "description", "status", "start", "end"),
    "logbook": ("client", "id", "author", "time", "text", "topic"),
}


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def _put(target: dict, key: str, value) -> None:
    if value not in (None, "", [], {}):
        target[key] = value


def network_document(system: str, rows: dict) -> dict:
    """One client's rows (by our field names) as a care-network document."""
    c = rows["client"]
    client: dict = {"id": c.get("id"), "bsn": c.get("bsn"), "name": {"family": c.get("family")}}
    _put(client["name"], "given", _list(c.get("given")))
    _put(client, "birthDate", c.get("birthDate"))
    _put(client, "gender", c.get("gender"))
    _put(client, "telecom", [{"system": "phone", "value": c["phone"], "use": "home"}] if c.get("phone") else [])
    if c.get("street") or c.get("postalCode") or c.get("city"):
        client["address"] = {"line": _list(c.get("street")) or [c.get("street") or ""],
                             "postalCode": c.get("postalCode"), "city": c.get("city")}
    members = []
    for r in rows["contacts"]:
        member: dict = {"id": r.get("id"), "kind": r.get("kind") or "informal", "name": {"family": r.get("family")}}
        _put(member["name"], "given", _list(r.get("given")))
        for key in ("relationship", "discipline", "agb"):
            _put(member, key, r.get(key))
        _put(member, "roles", _list(r.get("roles")))
        telecom = [{"system": "phone", "value": r["phone"]}] if r.get("phone") else []
        telecom += [{"system": "email", "value": r["email"]}] if r.get("email") else []
        _put(member, "telecom", telecom)
        members.append(member)
    agreements = []
    for r in rows["agreements"]:
        agreement: dict = {"id": r.get("id"), "activity": r.get("activity"), "category": r.get("category"),
                           "performers": _list(r.get("performers"))}
        _put(agreement, "description", r.get("description"))
        _put(agreement, "status", r.get("status"))
        _put(agreement, "period", {k: r[k] for k in ("start", "end") if r.get(k)})
        agreements.append(agreement)
    logbook = []
    for r in rows["logbook"]:
        entry: dict = {"id": r.get("id"), "author": r.get("author"), "time": r.get("time"), "text": r.get("text")}
        _put(entry, "topic", r.get("topic"))
        logbook.append(entry)
    doc = {"source": {"system": system}, "id": c.get("id"), "client": client, "members": members,
           "agreements": agreements, "logbook": logbook}
    _put(doc, "name", c.get("network"))
    return doc


@kind
class CsvConnector(Connector):
    kind = "csv"

    def __init__(self, source, session):
        super().__init__(source, session)
        opts = source.options
        self.system = opts.get("system") or f"urn:samenzorg:source:{source.name}"
        self.files = {**FILES, **(opts.get("files") or {})}
        self.columns = opts.get("columns") or {}
        self.delimiter = opts.get("delimiter", ",")
        self.page_size = int(opts.get("page_size", 50))

    # -- reading -------------------------------------------------------------------------
    def _read(self, which: str) -> list[dict]:
        name = self.files[which]
        if self.source.folder:
            path = Path(self.source.folder) / name
            if not path.is_file():
                if which == "clients":
                    raise UpstreamError(f"the clients export {name} is not in the folder")
                return []
            raw = path.read_bytes()
        else:
            raw = get_bytes(self.session, f"{self.source.base_url}/{name}")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UpstreamError(f"{name} is not UTF-8") from None
        mapping = {field: (self.columns.get(which) or {}).get(field, field) for field in FIELDS[which]}
        rows = []
        for row in csv.DictReader(io.StringIO(text), delimiter=self.delimiter):
            rows.append({field: (row.get(header) or "").strip() for field, header in mapping.items()})
        return rows

    def _by_client(self) -> dict[str, dict]:
        clients: dict[str, dict] = {}
        for row in self._read("clients"):
            clients[row["id"]] = {"client": row, "contacts": [], "agreements": [], "logbook": []}
        orphans: dict[str, dict] = {}
        for which in ("contacts", "agreements", "logbook"):
            for row in self._read(which):
                target = clients.get(row["client"])
                if target is None:  # a row for a client the export does not hold: quarantined apart
                    target = orphans.setdefault(row["client"], {"client": None, "contacts": [], "agreements": [],
                                                                "logbook": []})
                target[which].append(row)
        return {**{f"orphan-rows-of-{k}": v for k, v in orphans.items()}, **clients}

    # -- pulling -------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        known: dict[str, str] = {} if full or not cursor else json.loads(cursor).get("hashes", {})
        exported = self._by_client()
        hashes = {cid: hashlib.sha256(orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
                  for cid, rows in exported.items()}
        changed = [cid for cid in sorted(exported) if known.get(cid) != hashes[cid]]
        state = dict(known)
        for start in range(0, len(changed), self.page_size):
            batch = changed[start:start + self.page_size]
            changes = [self.change_for(cid, exported[cid]) for cid in batch]
            state.update({cid: hashes[cid] for cid in batch})
            yield Page(changes, json.dumps({"hashes": state}), len(changes))
        gone = sorted(set(known) - set(exported))
        if gone or not changed:
            changes = [Change(UpstreamId(self.source.name, RECORD_TYPE, cid), deleted=True,
                              raw=json.dumps({"deleted": cid})) for cid in gone if not cid.startswith("orphan-")]
            yield Page(changes, json.dumps({"hashes": hashes}), len(changes))

    def change_for(self, client_id: str, rows: dict) -> Change:
        raw = json.dumps({"client_id": client_id, "rows": rows}, ensure_ascii=False)
        if rows["client"] is None:
            return Change(UpstreamId(self.source.name, RECORD_TYPE, client_id), raw=raw,
                          error=f"rows for client {client_id.removeprefix('orphan-rows-of-')}, "
                                f"who is not in {self.files['clients']}")
        change = network_change(self.source.name, network_document(self.system, rows))
        change.raw = raw
        return change

    def changes_from_raw(self, raw: str) -> list[Change]:
        data = json.loads(raw)
        if "deleted" in data:
            return [Change(UpstreamId(self.source.name, RECORD_TYPE, data["deleted"]), deleted=True, raw=raw)]
        return [self.change_for(data["client_id"], data["rows"])]
