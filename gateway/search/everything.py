"""`Patient/{id}/$everything` as one paged SQL statement over `resources`.

The record is every type's rows that are (a) in the patient's record — the
patient compartment for clinical types, the clinical record's references for
directory entries — and (b) allowed by the caller's access clause (`restrict`,
the same one search uses), with the operation's filters on top, all in one
WHERE. So the page, its `LIMIT` and its `total` come from the same clause:
nothing is filtered in Python afterwards, and a hidden resource can show
neither as an entry nor in the count.

Paging is the search paging code: a signed keyset cursor (Patient first,
then `rid`), bound to this patient's endpoint; access is applied afresh on
every page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import bindparam, case, false, func, not_, or_, select, union_all
from sqlalchemy.util import LRUCache

from ..storage.tables import idx_date, resources
from . import bundle, paging
from .prepared import Same
from .sql import equals, unindexed

R = resources

# What "care date" means per type for `start`/`end` (R4: "care dates, not record currency dates"):
# the search parameter whose index rows hold that date. Types not listed (Patient, RelatedPerson,
# the directory) are not dated care and are never dropped by `start`/`end`.
CARE_DATE: dict[str, str] = {
    "CareTeam": "date",  # CareTeam.period
    "CarePlan": "date",  # CarePlan.period
    "Goal": "start-date",  # Goal.startDate
    "Consent": "date",  # Consent.dateTime
    "Communication": "sent",  # Communication.sent
    "AuditEvent": "date",  # AuditEvent.recorded: when the access happened
    "Provenance": "when",  # Provenance.occurred[x]
}
# Entries shown in `include` mode: the directory the record points to (the rest is the record).
INCLUDED = frozenset({"Practitioner", "PractitionerRole", "Organization"})


@dataclass(frozen=True)
class Everything:
    patient_id: str
    types: tuple[str, ...]  # the types asked for (all served record types when `_type` is absent)
    start: datetime | None  # naive UTC, inclusive
    end: datetime | None  # naive UTC, exclusive (the end of the `end` date)
    since: datetime | None  # meta.lastUpdated at or after
    count: int
    applied: list[tuple[str, str]]  # the normalised parameters, for `self` and the cursor


def _care_dates(res_type: str, start: datetime | None, end: datetime | None):
    """Rows whose care date range overlaps [start, end); a row without that date is kept (an
    undated care agreement is not known to lie outside the range)."""
    param = CARE_DATE.get(res_type)
    if param is None or (start is None and end is None):
        return None
    d = idx_date
    dated = select(d.c.rid).where(d.c.res_type == res_type, d.c.param == param)
    overlap = []
    if start is not None:
        overlap.append(or_(d.c.high.is_(None), d.c.high > start))
    if end is not None:
        overlap.append(or_(d.c.low.is_(None), d.c.low < end))
    return or_(not_(R.c.rid.in_(dated)), R.c.rid.in_(dated.where(*overlap)))


# The request's values, bound by name: the statements depend only on the shape of the request.
# The patient as a list of one bound parameter: `IN (?)`, not an expanding list, whose SQL
# SQLAlchemy rewrites on every execution (and a carer's statement is long).
PATIENTS = (bindparam("everything_patient"),)
_START, _END, _SINCE = bindparam("everything_start"), bindparam("everything_end"), bindparam("everything_since")
_LIMIT = bindparam("everything_limit")


def conditions(q: Everything, restrict: Callable[[str], object], record: Callable[[str, object], object],
               confined: bool = False) -> list:
    """The WHERE of the operation: per type, in the record AND visible AND within the filters; the
    patient and the dates as parameters (`parameters`). `record(type, patients)`: the type's rows
    in the record of `patients` (here a tuple of one bound parameter). `confined`: every access
    clause lies within this patient's record already (`Policy.confines_to`), so it stands for
    the record: its lookups once, not twice."""
    start = _START if q.start is not None else None
    end = _END if q.end is not None else None
    per_type = []
    for t in q.types:
        # A compartment type's record clause is a short rid list from the patient's index rows: the
        # database should start there, not at every row of the type (SQLite, without statistics,
        # prefers the res_type index, which grows with the number of clients). Patient and directory
        # entries are found by (res_type, res_id), which needs the type indexed.
        by_rid = t not in INCLUDED and t != "Patient"
        parts = [equals(unindexed(R.c.res_type) if by_rid else R.c.res_type, t)]
        clause = restrict(t)
        if clause is None or not confined:
            parts.append(record(t, PATIENTS))
        if clause is not None:
            parts.append(clause)
        dated = _care_dates(t, start, end)
        if dated is not None:
            parts.append(dated)
        per_type.append(select(R.c.rid).where(*parts))
    # The types' rows as one rid set (a UNION ALL of per-type lookups, each from its own short list):
    # an OR of the per-type clauses read every row of `resources` on PostgreSQL (a sequential scan
    # with hashed subplans: ~70 ms for each of the count and the page at 1,000 clients).
    record_rids = union_all(*per_type) if len(per_type) > 1 else per_type[0] if per_type else None
    conds = [R.c.deleted.is_(False), R.c.rid.in_(record_rids) if record_rids is not None else false()]
    if q.since is not None:
        conds.append(R.c.last_updated >= _SINCE)
    return conds


def parameters(q: Everything) -> dict:
    """The values `conditions` binds."""
    values = {"everything_patient": q.patient_id, "everything_start": q.start, "everything_end": q.end,
              "everything_since": q.since}
    return {k: v for k, v in values.items() if v is not None}


# The Patient first (as the operation's readers expect), then insertion order; rid makes it total.
_KEYS = [paging.Key(case((R.c.res_type == "Patient", 0), else_=1), False), paging.Key(R.c.rid, False, nullable=False)]


def endpoint(patient_id: str) -> str:
    return f"Patient/{patient_id}/$everything"


# Compiled forms of this operation's statements, apart from the engine's cache (500 statements): a
# carer's statement joins a dozen per-type access clauses, so its compiled form is ~400 KB and its
# shape varies with the carer's Consent. In the engine's cache they took a worker's memory past
# 200 MB after a round of carers' `$everything` (tracemalloc: 8 MB for 21 shapes at 300 clients).
_OWN_CACHE = {"compiled_cache": LRUCache(32)}

# A system client's (unrestricted) count and first-page statements per request shape. Building the
# statement (a dozen per-type lookups, the directory through the record) and deriving its cache key
# took four fifths of the operation (2.4 ms of ~3 ms of Python); its values are all bound by name.
_UNRESTRICTED = LRUCache(64)
# A carer's, per request shape and access clauses (by identity): their clauses are shared by the
# carers whose Consents have the same shape, their own values bound on the connection
# (access_binds), so carers of one shape share these too. Other restricted callers' clauses are
# made per request, and so are their statements.
_SHARED_CLAUSES = LRUCache(16)


def _statements(q: Everything, restrict, record, confined: bool, shared_clauses: bool) -> tuple:
    """(conditions, count statement, first-page statement), their values bound by `parameters`
    (and, for `shared_clauses`, by the connection)."""
    def build():
        conds = conditions(q, restrict, record, confined)
        return conds, select(func.count()).select_from(R).where(*conds), _page(conds)
    clauses = tuple(restrict(t) for t in q.types)
    shape = (q.types, q.start is not None, q.end is not None, q.since is not None)
    if all(c is None for c in clauses):
        kept, key = _UNRESTRICTED, shape
    elif shared_clauses:
        kept, key = _SHARED_CLAUSES, (shape, confined, tuple(Same(c) for c in clauses))
    else:
        return build()
    found = kept.get(key)
    if found is None:
        found = kept[key] = build()
    return found


def _page(conds: list, cursor: paging.Cursor | None = None):
    """A page's rows with their sort keys (k0, k1, …), after `cursor`; its size is `_LIMIT`."""
    backward = cursor is not None and cursor.backward
    stmt = select(R.c.rid, R.c.res_type, R.c.res_id, R.c.body, *(k.expr.label(f"k{i}") for i, k in enumerate(_KEYS)))
    stmt = stmt.where(*conds)
    if cursor is not None:
        stmt = stmt.where(paging.after(_KEYS, cursor.values, backward))
    return stmt.order_by(*paging.order_by(_KEYS, backward)).limit(_LIMIT)


def everything_bundle(conn, q: Everything, *, cursor: paging.Cursor | None, base_url: str, page_key: bytes,
                      restrict: Callable[[str], object], record: Callable[[str, object], object],
                      confined: bool = False, shared_clauses: bool = False) -> tuple[bytes, list]:
    """(the searchset Bundle, the rows shown) for one page (`confined`: see `conditions`;
    `shared_clauses`: the caller's access clauses are kept and shared, their values bound on `conn`)."""
    base_url = base_url.rstrip("/")
    path = endpoint(q.patient_id)
    conds, count, first_page = _statements(q, restrict, record, confined, shared_clauses)
    values = parameters(q)
    total = conn.execute(count, values, execution_options=_OWN_CACHE).scalar_one()
    self_params = q.applied if cursor is None else [(paging.PAGE, paging.sign(page_key, cursor))]
    links = {"self": bundle.page_url(base_url, path, self_params)}
    rows: list = []
    if q.count > 0:
        backward = cursor is not None and cursor.backward
        stmt = first_page if cursor is None else _page(conds, cursor)
        rows = conn.execute(stmt, {**values, "everything_limit": q.count + 1}, execution_options=_OWN_CACHE).all()
        more = len(rows) > q.count
        rows = rows[:q.count]
        if backward:
            rows.reverse()
        has_next = more if not backward else True
        has_prev = cursor is not None and (more if backward else True)

        def link(row, back: bool) -> str:
            values = tuple(getattr(row, f"k{i}") for i in range(len(_KEYS)))
            token = paging.sign(page_key, paging.Cursor(path, q.applied, values, back))
            return bundle.page_url(base_url, path, [(paging.PAGE, token)])
        if rows and has_prev:
            links["previous"] = link(rows[0], True)
        if rows and has_next:
            links["next"] = link(rows[-1], False)
    matches = [r for r in rows if r.res_type not in INCLUDED]
    includes = [r for r in rows if r.res_type in INCLUDED]
    body = bundle.searchset(base_url=base_url, total=total, links=links, matches=matches, includes=includes,
                            problems=[], summary=None, elements=())
    return body, rows
