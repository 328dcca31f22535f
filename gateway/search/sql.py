"""Parsed criteria to SQL over `resources` and the index tables.

Every criterion becomes `resources.rid IN (SELECT rid FROM idx_… WHERE …)`
(or the negation), uncorrelated, so each is answered from the index on
(res_type, param, value) and composes with LIMIT and COUNT without any
filtering in Python. Where a criterion needs other resources (chains,
`_has`) the nested SELECT over `resources` is self-contained
(`correlate(None)`), so the caller's `restrict` clause, written over the
plain `resources` table, applies to that inner SELECT and not to the outer.

One rule for SQLite and PostgreSQL: string values are pre-normalised in
Python (lower case, no accents), LIKE is escaped (`autoescape`), booleans
are bound values, datetimes are naive UTC on both sides.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import and_, bindparam, false, func, not_, or_, select, true
from sqlalchemy.types import NULLTYPE

from .. import fhirtime
from ..storage.tables import INDEX_TABLES, resources
from . import registry
from .parse import Chain, DateValue, Filter, Has, Ref, Token, TypeFilter
from .registry import SearchParam
from .values import normalise

R = resources
Restrict = Callable[[str], object] | None


@functools.lru_cache(maxsize=64)
def unindexed(column):
    """The column's value in a form no index matches (`column || ''`): a filter, never where the
    database starts, to steer its plan where it has no statistics to choose by."""
    return column.concat("")


# Fragments that depend on no request value, built once: a search builds a few dozen SQLAlchemy
# expressions, and building them (not running the SQL) was most of a system search's time.
@functools.lru_cache(maxsize=4096)
def equals(column, name: str):
    """`column = name`, for names from a closed set only (types, parameter names)."""
    return column == name


@functools.lru_cache(maxsize=16)
def same_rid(table):
    """An index table's rows of the outer `resources` row."""
    return table.c.rid == R.c.rid


NOT_DELETED = R.c.deleted == false()


class Builder:
    """Turns criteria into clauses; knows the base URL and the access hook."""

    def __init__(self, restrict: Restrict = None, base_url: str = "", now: datetime | None = None,
                 dialect: str = "", binder: Binder | None = None):
        """`binder`: a search's values become named parameters (a statement kept per shape, see
        search/prepared.py); without one they are written into the statement."""
        self.restrict = restrict
        self.base_url = base_url.rstrip("/")
        self.now = now or fhirtime.now()
        self.dialect = dialect
        self.binder = binder

    def _bound(self, values: dict) -> dict:
        return values if self.binder is None else self.binder.bind(values)

    # -- which rows are candidates at all ------------------------------------
    def visible(self, res_type: str | None, types: tuple[str, ...] | None = None, *,
                by_type: bool = True) -> list:
        """Current, not deleted, of the type(s), and allowed by `restrict`. `by_type=False`: the
        type is only checked, so the database starts from a criterion's rids instead (`where`)."""
        conds = [NOT_DELETED]
        if res_type is not None:
            conds.append(equals(R.c.res_type if by_type else unindexed(R.c.res_type), res_type))
            clause = self.restrict(res_type) if self.restrict else None
            if clause is not None:
                conds.append(clause)
            return conds
        if types is None:
            types = registry.SERVED
        if self.restrict is None:
            conds.append(R.c.res_type.in_(types))
            return conds
        per_type = []
        for t in types:
            clause = self.restrict(t)
            per_type.append(equals(R.c.res_type, t) if clause is None else and_(equals(R.c.res_type, t), clause))
        conds.append(or_(false(), *per_type))
        return conds

    def where(self, res_type: str | None, criteria: list) -> list:
        """All conditions for a search: visibility and every criterion.

        Where the search has a criterion that lists its matches' rids, the database starts there:
        one criterion (the likeliest to be narrow, `_driver`) is the rid list, the type is only
        checked, and every other positive filter is checked per candidate row by rid. Left to
        itself, without statistics (SQLite always), a database starts from every resource of the
        type and checks each against the lists: a scan that grows with the whole table.
        """
        types = None
        for c in criteria:
            if isinstance(c, TypeFilter):
                types = tuple(t for t in c.types if types is None or t in types)
        criteria = [c for c in criteria if not isinstance(c, TypeFilter)]
        driver = _driver(criteria) if res_type is not None else None
        conds = self.visible(res_type, types, by_type=driver is None)
        for i, c in enumerate(criteria):
            per_row = driver is not None and i != driver and _rank(c) is not None and isinstance(c, Filter)
            conds.append(self._filter(res_type, c, per_row=True) if per_row else self.criterion(res_type, c))
        return conds

    def rids(self, res_type: str, criterion) -> object:
        """SELECT rid of visible `res_type` resources matching `criterion`, standalone."""
        return select(R.c.rid).where(*self.where(res_type, [criterion])).correlate(None)

    # -- criteria ------------------------------------------------------------
    def criterion(self, res_type: str | None, c) -> object:
        if isinstance(c, Filter):
            return self._filter(res_type, c)
        if isinstance(c, Chain):
            return self._chain(res_type, c)
        if isinstance(c, Has):
            return self._has(res_type, c)
        if isinstance(c, TypeFilter):
            return R.c.res_type.in_(c.types)
        raise TypeError(c)

    def _rows(self, res_type: str | None, param: SearchParam, cond) -> object:
        """SELECT rid FROM the parameter's index table WHERE cond."""
        t = INDEX_TABLES[param.type]
        q = select(t.c.rid).where(equals(t.c.param, param.name), cond)
        if res_type is not None:
            q = q.where(equals(t.c.res_type, res_type))
        return q

    def _filter(self, res_type: str | None, f: Filter, *, per_row: bool = False) -> object:
        p = f.param
        if p.column is not None:
            return self._column(f)
        t = INDEX_TABLES[p.type]
        if f.missing is not None:
            present = R.c.rid.in_(self._rows(res_type, p, true()))
            return not_(present) if f.missing else present
        value_cond = or_(*(self._value(p, t, f.modifier, v) for v in f.values))
        if per_row:  # this row's own index rows (by rid), for a candidate found by another criterion
            return select(t.c.rid).where(same_rid(t), equals(t.c.param, p.name), value_cond).exists()
        matching = R.c.rid.in_(self._rows(res_type, p, value_cond))
        # :not is "no value matches", which includes having no value at all.
        return not_(matching) if f.modifier == "not" else matching

    def _value(self, p: SearchParam, t, modifier, v) -> object:
        if p.type == "token":
            if modifier == "text":
                return self._starts(t.c.text, v)
            return _token(t, v, self._bound(value_params(p, modifier, v)))
        if p.type == "string":
            if modifier == "exact":
                # The normalised form is implied by the exact one and is indexed.
                b = self._bound(value_params(p, modifier, v))
                return and_(t.c.value_norm == b["norm"], t.c.value_exact == b["exact"])
            if modifier == "contains":
                return t.c.value_norm.contains(v, autoescape=True)
            return self._starts(t.c.value_norm, v)
        if p.type == "uri":
            return _has_prefix(t.c.uri, v) if modifier == "below" else t.c.uri == v
        if p.type == "date":
            return self._date_range(t.c.low, t.c.high, v, self._bound(value_params(p, modifier, v)))
        if p.type == "reference":
            return self._reference(p, t, v)
        raise TypeError(p.type)

    def _column(self, f: Filter) -> object:
        p = f.param
        bound = [(v, self._bound(value_params(p, None, v))) for v in f.values]
        if p.column == "res_id":
            return R.c.res_id.in_([b["id"] for v, b in bound if v.code is not None])
        return or_(*(self._date_point(R.c.last_updated, v, b) for v, b in bound))

    def _reference(self, p: SearchParam, t, v: Ref) -> object:
        if v.url is not None:
            return t.c.target_url == v.url
        types = (v.type,) if v.type else tuple(p.targets)
        b = self._bound(value_params(p, None, v))
        return and_(t.c.target_id == b["id"], _target_type_in(t, types), self.local(t))

    def local(self, t) -> object:
        """A reference that points into this server: relative, or absolute under our base."""
        return _local(t, self.base_url)

    def _starts(self, col, v: str) -> object:
        """Starts-with on a normalised (lower-case) column.

        LIKE is the rule on both databases (values are lower-cased already, so
        SQLite's ASCII-insensitive LIKE and PostgreSQL's sensitive one agree).
        SQLite cannot use an index for LIKE on a BINARY column, so there we
        add the equivalent byte-order range, which it can.
        """
        like = col.startswith(v, autoescape=True)
        if self.dialect == "sqlite":
            return and_(col >= v, col < v + "\U0010ffff", like)
        return like

    def _chain(self, res_type: str | None, c: Chain) -> object:
        t = INDEX_TABLES["reference"]
        branches = []
        for target, inner in c.branches:
            targets = _flat(select(R.c.res_id).where(*self.where(target, [inner])))
            branches.append(and_(t.c.target_type == target, t.c.target_id.in_(select(targets.c.res_id))))
        return R.c.rid.in_(self._rows(res_type, c.param, and_(or_(*branches), self.local(t))))

    def _has(self, res_type: str, h: Has) -> object:
        t = INDEX_TABLES["reference"]
        sources = _flat(self.rids(h.source_type, h.inner))
        sources = select(sources.c.rid)
        pointing = select(t.c.target_id).where(
            t.c.res_type == h.source_type, t.c.param == h.param.name, t.c.target_type == res_type,
            t.c.rid.in_(sources), self.local(t))
        return R.c.res_id.in_(pointing)

    # -- dates ---------------------------------------------------------------
    def _widen(self, v: DateValue) -> tuple[datetime, datetime | None]:
        # `ap` is left to the server by the spec; like HAPI we take 10% of the
        # distance between the value and now, and at least a day.
        gap = abs(self.now - v.low)
        slack = max(gap / 10, timedelta(days=1))
        # Near year 1 or 9999 the window stops at the calendar's ends (an open end past 9999).
        low = v.low - min(slack, v.low - datetime.min)
        high = None if v.high is None or datetime.max - v.high < slack else v.high + slack
        return low, high

    def _date_range(self, lo, hi, v: DateValue, b: dict) -> object:
        """R4 date semantics between the search range [sl, sh) and a target range [lo, hi).

        None in lo/hi is an open end (unbounded); None in sh is "after 9999". `b`: v's bounds,
        as values or parameters (`value_params`).
        """
        sl, sh = b["low"], (None if v.high is None else b["high"])
        below = or_(lo.is_(None), lo < sl)  # target reaches before the search range
        above = false() if sh is None else or_(hi.is_(None), hi > sh)  # reaches past it
        inside = and_(lo.is_not(None), lo >= sl, hi.is_not(None),
                      true() if sh is None else hi <= sh)
        prefix = v.prefix
        if prefix == "eq":
            return inside
        if prefix == "ne":
            return not_(inside)
        if prefix == "gt":
            return above
        if prefix == "lt":
            return below
        if prefix == "ge":
            return or_(above, inside)
        if prefix == "le":
            return or_(below, inside)
        if prefix == "sa":
            return false() if sh is None else and_(lo.is_not(None), lo >= sh)
        if prefix == "eb":
            return and_(hi.is_not(None), hi <= sl)
        if prefix == "ap":
            wl, wh = self._widen(v)
            return and_(or_(lo.is_(None), true() if wh is None else lo < wh), or_(hi.is_(None), hi > wl))
        raise ValueError(prefix)

    def _date_point(self, col, v: DateValue, b: dict) -> object:
        """The same semantics for a column holding one instant (`_lastUpdated`); `b` as in
        `_date_range`."""
        sl, sh = b["low"], (None if v.high is None else b["high"])
        inside = and_(col >= sl, true() if sh is None else col < sh)
        prefix = v.prefix
        if prefix == "eq":
            return inside
        if prefix == "ne":
            return not_(inside)
        if prefix in ("gt", "sa"):
            return false() if sh is None else col >= sh
        if prefix in ("lt", "eb"):
            return col < sl
        if prefix == "ge":
            return col >= sl
        if prefix == "le":
            return true() if sh is None else col < sh
        if prefix == "ap":
            wl, wh = self._widen(v)
            return and_(col >= wl, true() if wh is None else col < wh)
        raise ValueError(prefix)


# How narrow a criterion's rid list is likely to be, without statistics: 0 is narrowest. None: it
# lists no rids to start from (a negation, :missing, `_id`, `_lastUpdated`, `_has`).
_NARROW = {"reference": 0, "uri": 0, "token": 1, "string": 2, "date": 2}


def _rank(c) -> int | None:
    if isinstance(c, Chain):
        return 3
    if not isinstance(c, Filter) or c.param.column is not None or c.missing is not None:
        return None
    if c.modifier in ("not", "text", "contains"):
        return None if c.modifier == "not" else 4
    if c.param.type == "reference" and any(v.url is not None for v in c.values):
        return 3  # an absolute URL is not in the (type, id) index
    if c.modifier == "below":
        return 4  # a URL prefix is compared, not looked up
    if c.param.name == "identifier":
        return 0
    return _NARROW[c.param.type]


def _driver(criteria: list) -> int | None:
    """The criterion a search starts from: the narrowest-looking rid list, the first of equals.
    None when the search has none, or selects by id (`_id`, `_has`: by (type, id), which needs
    the type index)."""
    if any(isinstance(c, Has) or (isinstance(c, Filter) and c.param.column == "res_id") for c in criteria):
        return None
    ranked = [(r, i) for i, c in enumerate(criteria) if (r := _rank(c)) is not None]
    return min(ranked)[1] if ranked else None


def _flat(stmt):
    """The inner SELECT of a chain or `_has` link as a common table expression: written once at
    the top of the statement instead of nested in its parent, so each link adds a fixed depth
    (an access clause nested once per link overflowed SQLite's parser stack at two links)."""
    return stmt.cte()


@functools.lru_cache(maxsize=1024)
def _target_type_in(t, types: tuple[str, ...]) -> object:
    return t.c.target_type.in_(types)


@functools.lru_cache(maxsize=64)  # bounded: without a configured base URL, it follows the Host header
def _local(t, base_url: str) -> object:
    if not base_url:
        return t.c.target_url.is_(None)
    return or_(t.c.target_url.is_(None), _has_prefix(t.c.target_url, base_url + "/"))


def _has_prefix(col, prefix: str) -> object:
    # Case-sensitive on both databases (SQLite's LIKE is not), for URLs.
    return func.substr(col, 1, len(prefix)) == prefix


def _token(t, v: Token, b: dict) -> object:
    """Which form `v` has decides the clause; `b` holds its values (`value_params`)."""
    if v.code is None:  # "system|": any code in that system
        return t.c.system == b["system"]
    if v.system is None:  # "code": any system
        return t.c.code == b["code"]
    if v.system == "":  # "|code": explicitly no system
        return and_(t.c.code == b["code"], t.c.system.is_(None))
    return and_(t.c.code == b["code"], t.c.system == b["system"])


def value_params(p: SearchParam, modifier: str | None, v) -> dict:
    """The values one search value puts into its clause, by name: the only place they are taken
    from `v`, whether they are written into the statement or bound at each execution."""
    if p.column == "res_id":
        return {} if v.code is None else {"id": v.code}
    if p.type == "token":  # as `_token` takes them
        if v.code is None:
            return {"system": v.system}
        return {"code": v.code} if not v.system else {"code": v.code, "system": v.system}
    if p.type == "reference":
        return {"id": v.id}
    if p.type == "date":
        return {"low": v.low} if v.high is None else {"low": v.low, "high": v.high}
    if p.type == "string" and modifier == "exact":
        return {"norm": normalise(v), "exact": v}
    raise TypeError(p.type)


class Binder:
    """Makes each search value a named parameter of the statement and keeps the values, so a
    statement built for one search runs for another of the same shape."""

    def __init__(self):
        self.values: dict = {}

    def bind(self, values: dict) -> dict:
        out = {}
        for k, x in values.items():
            name = f"v{len(self.values)}"  # as `prepared._values` names them
            self.values[name] = x
            # No type of its own: it takes the column's, as a value written in would.
            out[k] = bindparam(name, type_=NULLTYPE, required=True)
        return out


# -- sorting -----------------------------------------------------------------

_SORT_COLUMN = {"string": "value_norm", "token": "code", "date": "low"}


@functools.lru_cache(maxsize=256)  # keyed by registry parameters and a flag: depends on no request value
def sort_expression(param: SearchParam, descending: bool):
    """One value per resource to order by: the lowest value ascending, the highest descending."""
    if param.column == "res_id":
        return R.c.res_id
    if param.column == "last_updated":
        return R.c.last_updated
    t = INDEX_TABLES[param.type]
    col = t.c[_SORT_COLUMN[param.type]]
    agg = func.max(col) if descending else func.min(col)
    return (select(agg).where(same_rid(t), equals(t.c.param, param.name))
            .scalar_subquery())
