"""The consent engine's facts in the index tables, and its filter as SQL.

`consent.facts_of` says what a Consent can test about a resource; here those
facts become index rows (written with every version, like search rows), and
a compiled `consent.Expr` becomes one SQL clause over `resources`, applied
before LIMIT and counting. Each atom maps to one indexed lookup, so the SQL
means exactly what `consent.evaluate` means over the same facts.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import and_, false, not_, or_, select, true
from sqlalchemy.orm import aliased

import consent
from consent import (And, AuthoredBy, Const, DataDateIn, HasCode, HasSecurity, IdIn, Not, Or,
                     ReferencedBy, References, TypeIn)

from .storage.tables import idx_date, idx_reference, idx_token, resources

CODE, SECURITY, DATE, AUTHOR, REF = ("_consent-code", "_consent-security", "_consent-date",
                                     "_consent-author", "_consent-ref")
_LOCAL = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})")


def _naive_utc(t: datetime | None) -> datetime | None:
    return None if t is None else t.astimezone(timezone.utc).replace(tzinfo=None)


def _target(ref: str) -> dict:
    m = _LOCAL.fullmatch(ref)
    if m:
        return {"target_type": m.group(1), "target_id": m.group(2), "target_url": None}
    return {"target_type": None, "target_id": None, "target_url": ref}


def fact_rows(resource: dict) -> dict[str, list[dict]]:
    """Index rows for the consent facts of one resource version."""
    facts = consent.facts_of(resource)
    rows: dict[str, list[dict]] = {
        "token": [{"param": CODE, "system": s, "code": c, "text": None} for s, c in facts.codes]
        + [{"param": SECURITY, "system": s, "code": c, "text": None} for s, c in facts.security],
        "reference": [{"param": AUTHOR, **_target(r)} for r in facts.authors]
        + [{"param": REF, **_target(r)} for r in facts.references],
        "date": [],
    }
    if facts.data_date is not None:
        rows["date"].append({"param": DATE, "low": _naive_utc(facts.data_date.start),
                             "high": _naive_utc(facts.data_date.end)})
    return rows


def mentions_referrers(expr: consent.Expr) -> bool:
    """Whether the filter asks who points at a resource (a `ReferencedBy` atom)."""
    match expr:
        case And(items) | Or(items):
            return any(mentions_referrers(i) for i in items)
        case Not(item):
            return mentions_referrers(item)
        case ReferencedBy():
            return True
    return False


def referrers(conn, res_type: str, res_id: str) -> frozenset[str]:
    """"Type/id" of the current resources whose references point at this one: what the SQL form of
    `ReferencedBy` reads, so a per-version verdict agrees with it."""
    r = idx_reference
    rows = conn.execute(select(resources.c.res_type, resources.c.res_id)
                        .join(r, r.c.rid == resources.c.rid)
                        .where(r.c.param == REF, r.c.target_type == res_type, r.c.target_id == res_id))
    return frozenset(f"{t}/{i}" for t, i in rows)


def _rids_with_ref(param: str, ref: str, bind):
    t = _target(ref)
    q = select(idx_reference.c.rid).where(idx_reference.c.param == param)
    if t["target_url"] is not None:
        return q.where(idx_reference.c.target_url == bind(ref))
    return q.where(idx_reference.c.target_type == bind(t["target_type"]),
                   idx_reference.c.target_id == bind(t["target_id"]))


def _rids_with_token(param: str, system: str, code: str, bind):
    return select(idx_token.c.rid).where(idx_token.c.param == param, idx_token.c.system == bind(system),
                                         idx_token.c.code == bind(code))


def _as_is(value):
    return value


def to_sql(expr: consent.Expr, res_type: str, bind=_as_is):
    """The filter for resources of one type, as a clause over `resources`. `bind(value)`: what to
    put in the clause for each value the Consents gave (access_binds.Binds: a named parameter)."""
    match expr:
        case Const(value):
            return true() if value else false()
        case And(items):
            return and_(*(to_sql(i, res_type, bind) for i in items))
        case Or(items):
            return or_(*(to_sql(i, res_type, bind) for i in items))
        case Not(item):
            return not_(to_sql(item, res_type, bind))
        case TypeIn(types):
            return true() if res_type in types else false()
        case IdIn(refs):
            ids = [r.split("/", 1)[1] for r in refs if r.startswith(f"{res_type}/")]
            if not ids:
                return false()
            return resources.c.res_id.in_(ids if bind is _as_is else [bind(i) for i in ids])
        case HasSecurity(system, code):
            return resources.c.rid.in_(_rids_with_token(SECURITY, system, code, bind))
        case HasCode(system, code):
            return resources.c.rid.in_(_rids_with_token(CODE, system, code, bind))
        case AuthoredBy(ref):
            return resources.c.rid.in_(_rids_with_ref(AUTHOR, ref, bind))
        case References(ref):
            return resources.c.rid.in_(_rids_with_ref(REF, ref, bind))
        case ReferencedBy(ref):
            # Known from the index: the resources `ref` points at. (if_unknown never applies here.)
            m = _LOCAL.fullmatch(ref)
            if not m:
                return false()
            source = aliased(resources)
            pointed = (select(idx_reference.c.target_id)
                       .join(source, source.c.rid == idx_reference.c.rid)
                       .where(source.c.res_type == bind(m.group(1)), source.c.res_id == bind(m.group(2)),
                              idx_reference.c.param == REF, idx_reference.c.target_type == res_type))
            return resources.c.res_id.in_(pointed)
        case DataDateIn(start, end, strict):
            start, end = _naive_utc(start), _naive_utc(end)
            return _date_sql(None if start is None else bind(start), None if end is None else bind(end), strict)
    raise TypeError(f"not a consent filter expression: {expr!r}")


def _date_sql(start, end, strict: bool):
    d = idx_date
    dated = select(d.c.rid).where(d.c.param == DATE)
    if strict:
        conds = []
        if start is not None:
            conds.append(and_(d.c.low.is_not(None), d.c.low >= start))
        if end is not None:
            conds.append(and_(d.c.high.is_not(None), d.c.high <= end))
        return resources.c.rid.in_(dated.where(*conds))
    conds = []
    if end is not None:
        conds.append(or_(d.c.low.is_(None), d.c.low < end))
    if start is not None:
        conds.append(or_(d.c.high.is_(None), d.c.high > start))
    return or_(not_(resources.c.rid.in_(dated)), resources.c.rid.in_(dated.where(*conds)))
