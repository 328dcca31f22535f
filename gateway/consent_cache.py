"""What a carer's requests need from their client's Consents, kept between requests while it holds.

Profiled (bench/results/*-profile-*): loading the carer's RelatedPerson and the
client's Consents, then reading and compiling those Consents, was over a third
of a carer's request. None of it changes unless one of those rows changes or
the clock crosses a Period boundary in them, so a process keeps it, bounded:

- **Keyed on what every write bumps.** Each entry carries its *stamp*: the
  (rid, version) of the RelatedPerson and of each current Consent of the
  client, from the very rows it was built from. Every request reads the stamp
  again in one indexed query, in its own transaction, and uses the entry only
  when it is unchanged. A Consent created, changed, deleted or moved to another
  client changes the stamp (a new rid, a new version, a row gone), so a revoked
  Consent takes effect on the very next request, in this process or any other
  sharing the database: there is nothing to invalidate.
- **Valid only between two clock boundaries.** Whether a Period holds *now*
  changes only at the instants its start and end stand for; an entry is used
  only while now lies between the nearest such instants in its rows.
- **Bounded**: least recently used entries go first (`MAX_ENTRIES`). An entry holds the parsed
  RelatedPerson, the client's Consents as stored (bytes: kept parsed, they were three quarters of
  an entry) and what was compiled from them. A carer's entry with one access clause took ~46 KB of
  a worker in the bench's networks while the Consents were kept parsed, ~28 KB since (tracemalloc
  over 928 carers); the entries are ~18 KB of that, so 2,048 of them take ~37 MB at most.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import bindparam, select, union_all

import consent

from .storage.direct import Direct
from .storage.tables import idx_reference, resources

MAX_ENTRIES = 2048
DECIDING = 64  # decisions kept per carer
# Carers' access clauses kept per process, least recently used out. A clause is 14-33 KB of SQL
# expression, kept per carer it took most of a worker's growth at 10,000 clients; now one is kept
# per shape and shared (access_binds), and an entry here is that clause and this carer's values:
# ~2.3 KB (tracemalloc), so 8,192 take ~19 MB, what 1,024 clauses of their own took. Building one
# anew cost ~380 µs, using a kept one ~80 µs.
MAX_CLAUSES = 8192


@dataclass
class CarerState:
    """A RelatedPerson's view of their client's Consents, as of `stamp`."""

    stamp: tuple
    related_person: dict | None
    patient_id: str | None  # the client the stamp's Consents are of (from the RelatedPerson's row)
    stored_consents: tuple[bytes, ...]  # as stored; parsed only to read them for a new kind of request
    active_consents: tuple[str, ...]  # "Consent/id" of the active ones (named by a search's audit record)
    valid_from: datetime | None
    valid_until: datetime | None
    _readings: dict = field(default_factory=dict)  # action -> readings (pure in the request within the window)
    _filters: dict = field(default_factory=dict)
    _deciding: dict = field(default_factory=dict)  # (action, patient, roles, reference, version) -> Consent

    def holds_at(self, now: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= now) and \
            (self.valid_until is None or now < self.valid_until)

    def consents(self) -> list[dict]:
        """The Consents as stored, parsed afresh (not kept)."""
        return [orjson.loads(raw) for raw in self.stored_consents]

    def readings(self, request: consent.AccessRequest) -> list:
        key = (request.action, request.patient, request.actor_roles)
        if key not in self._readings:
            self._readings[key] = consent.readings(self.consents(), request)
        return self._readings[key]

    def consent_filter(self, request: consent.AccessRequest) -> consent.Expr:
        key = (request.action, request.patient, request.actor_roles)
        if key not in self._filters:
            self._filters[key] = consent.filter_of(self.readings(request))
        return self._filters[key]

    def deciding(self, request: consent.AccessRequest, reference: str, version: str, decide) -> str | None:
        """The Consent that decides `request` on a stored version (named in its audit record): the
        same for every read of that version while this state holds. The last DECIDING are kept."""
        key = (request.action, request.patient, request.actor_roles, reference, version)
        if key not in self._deciding:
            if len(self._deciding) >= DECIDING:
                self._deciding.clear()
            self._deciding[key] = decide()
        return self._deciding[key]


def _rows_of(*columns):
    """SELECTs of `columns` of the carer's RelatedPerson (`me`) and of their client's (`patient`)
    current Consents, built once with their values bound by name."""
    r = idx_reference
    own = select(*columns).where(
        resources.c.res_type == "RelatedPerson", resources.c.res_id == bindparam("me"),
        resources.c.deleted.is_(False))
    theirs = select(*columns).where(
        resources.c.deleted.is_(False), resources.c.rid.in_(select(r.c.rid).where(
            r.c.res_type == "Consent", r.c.param == "patient", r.c.target_type == "Patient",
            r.c.target_id == bindparam("patient"))))
    return own, theirs


_STAMP = Direct(union_all(*_rows_of(resources.c.rid, resources.c.version)))  # every carer request
_OWN, _THEIRS = map(Direct, _rows_of(resources.c.rid, resources.c.version, resources.c.body))  # on a miss


def _window(now: datetime, rows: list[dict]) -> tuple[datetime | None, datetime | None]:
    instants = set().union(*(consent.instants_in(r) for r in rows)) if rows else set()
    before = [i for i in instants if i <= now]
    after = [i for i in instants if i > now]
    return (max(before) if before else None, min(after) if after else None)


def active_refs(consents: list[dict]) -> list[str]:
    """"Consent/id" of the active ones."""
    return [f"Consent/{c['id']}" for c in consents if c.get("status") == "active" and "id" in c]


def load(conn, related_person_id: str, patient_of_rp, now: datetime) -> CarerState:
    """Build a state from the rows as stored now; its stamp names exactly those rows."""
    row = _OWN.first(conn, {"me": related_person_id})
    body = orjson.loads(row.body) if row is not None else None
    patient_id = patient_of_rp(body) if body is not None else None
    stamp = [(row.rid, row.version)] if row is not None else []
    stored, consents = [], []
    if patient_id is not None:
        for rid, version, raw in _THEIRS.all(conn, {"patient": patient_id}):
            stamp.append((rid, version))
            stored.append(raw)
            consents.append(orjson.loads(raw))
    valid_from, valid_until = _window(now, ([body] if body else []) + consents)
    return CarerState(tuple(sorted(stamp)), body, patient_id, tuple(stored), tuple(active_refs(consents)),
                      valid_from, valid_until)


class ConsentCache:
    """One per app (process); shared by its threads."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_clauses: int = MAX_CLAUSES):
        self.max_entries, self.max_clauses = max_entries, max_clauses
        self._entries: OrderedDict[str, CarerState] = OrderedDict()
        self._clauses: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def clause(self, state: CarerState, key: tuple, build):
        """The access clause for `key` built from `state` alone, with this carer's values for it
        (`build()` -> (clause, values)): kept under what names that state's content exactly (its
        stamp and clock window), so a changed Consent is never answered with a clause built from
        the old one."""
        kept_as = (state.stamp, state.valid_from, state.valid_until, key)
        with self._lock:
            found = self._clauses.get(kept_as)
            if found is not None:
                self._clauses.move_to_end(kept_as)
                return found
        found = build()
        self._keep(self._clauses, kept_as, found, self.max_clauses)
        return found

    def _keep(self, entries: OrderedDict, key, value, bound: int) -> None:
        """Keep `value` as the most recently used of `entries`, dropping the least recently used past `bound`."""
        with self._lock:
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > bound:
                entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def state(self, conn, related_person_id: str, patient_of_rp, now: datetime) -> CarerState:
        """The carer's state as stored now: the kept one when its stamp still matches, else built anew."""
        with self._lock:
            kept = self._entries.get(related_person_id)
            if kept is not None:
                self._entries.move_to_end(related_person_id)
        if kept is not None and kept.holds_at(now):
            stamp = tuple(sorted(tuple(r) for r in _STAMP.all(
                conn, {"me": related_person_id, "patient": kept.patient_id})))
            if stamp == kept.stamp:
                return kept
        fresh = load(conn, related_person_id, patient_of_rp, now)
        self._keep(self._entries, related_person_id, fresh, self.max_entries)
        return fresh
