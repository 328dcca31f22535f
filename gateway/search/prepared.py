"""Searches kept per shape: built and compiled once, then run with each request's values.

A search's SQL depends on its shape (the type; each parameter with its modifier and the form and
number of its values; the sort; the page size; the caller's access clause; the base URL), not
on its values. Building it (a few dozen SQLAlchemy expressions) and handing it to SQLAlchemy
(whose cache key walks the whole tree, then an execution context per statement) cost more than
the SQL itself. So the first page of a search of a kept shape is built once, its values named
parameters (`sql.Binder`), and runs straight through the driver (`Direct`), page and COUNT.
A forward `_include`'s statement is kept the same way, per include and number of page rows
of each type, the rows' rids bound by name (search/include.py).

Kept shapes: plain filters (token; reference by type and id; date and `_lastUpdated`, any
prefix but `ap`, which depends on the time of the request; string `:exact`; `_id`), any sort,
any page size. Every other search is built per request as before: chains, `_has`, `:missing`,
`:not`, `:text`, string starts-with and `:contains` (their LIKE pattern is escaped when it is
built), absolute URLs, `_type`, later pages; and `_revinclude`.

A kept statement holds the caller's access clauses themselves, and is kept per those clause
objects: a carer's are kept under their Consents' stamp, so a changed Consent is a new clause
and a new statement. Statements with an access clause go straight to the driver only after
`PER_CALLER` uses, as a carer's read does (storage/direct.py).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ..storage.direct import PER_CALLER, Direct
from .parse import Filter, Query
from .sql import Binder, Builder, value_params

# Statements kept per worker: without an access clause (system clients: one per shape), and with
# one (per shape and carer; ~250 Python objects each, clause and all, which every full garbage
# collection walks: 472 of them held ~120k objects, the collections' pauses grew with them).
KEPT_OPEN = 256
KEPT_RESTRICTED = 64


@dataclass(frozen=True)
class Prepared:
    """A kept shape's two statements, and this request's values for them."""

    page: Direct
    count: Direct
    values: dict


class Same:
    """An access clause in a key, compared by identity (a clause's `==` builds SQL)."""

    __slots__ = ("clause",)

    def __init__(self, clause):
        self.clause = clause

    def __hash__(self):
        return id(self.clause)

    def __eq__(self, other):
        return isinstance(other, Same) and other.clause is self.clause


class Kept:
    """Statements kept per shape, least recently used out past `KEPT_OPEN` and `KEPT_RESTRICTED`:
    those without an access clause (system clients) and those with one apart, so callers whose
    clause is made per request (a client's own, a carer's not kept) never push out the others."""

    def __init__(self):
        self._open: OrderedDict = OrderedDict()
        self._restricted: OrderedDict = OrderedDict()

    def get(self, key: tuple, clauses: tuple, build):
        """What is kept for (`key`, `clauses`), from `build(compile_after)` the first time.
        `clauses`: the access clauses the statements hold (None: no limit)."""
        restricted = any(c is not None for c in clauses)
        table = self._restricted if restricted else self._open
        key = (key, tuple(Same(c) for c in clauses))
        kept = table.get(key, _MISSING)
        if kept is not _MISSING:
            try:
                table.move_to_end(key)
            except KeyError:  # pushed out by another thread meanwhile
                pass
            return kept
        kept = table[key] = build(PER_CALLER if restricted else 0)
        while len(table) > (KEPT_RESTRICTED if restricted else KEPT_OPEN):
            try:
                table.popitem(last=False)
            except KeyError:
                break
        return kept


_MISSING = object()
_searches = Kept()
includes = Kept()


def _form(c) -> tuple | None:
    """What of a criterion decides its SQL (None: not a kept shape)."""
    if type(c) is not Filter or c.missing is not None:
        return None
    p, m, values = c.param, c.modifier, c.values
    if m is None and p.column == "res_id":
        forms = tuple(v.code is None for v in values)
    elif m is None and p.type == "token" and p.column is None:
        forms = tuple((v.code is None, v.system is None, v.system == "") for v in values)
    elif m is None and p.type == "reference" and all(v.url is None for v in values):
        forms = tuple(v.type for v in values)
    elif m is None and p.type == "date" and all(v.prefix != "ap" for v in values):
        forms = tuple((v.prefix, v.high is None) for v in values)
    elif m == "exact" and p.type == "string":
        forms = len(values)
    else:
        return None
    return p, m, forms


def _values(criteria: list) -> dict | None:
    """The request's values, named as `Binder` names them when it builds the statement (None: a
    value is missing, which a bound parameter would compare differently from SQL's IS NULL)."""
    out: dict = {}
    for c in criteria:
        for v in c.values:
            for x in value_params(c.param, c.modifier, v).values():
                if x is None:
                    return None
                out[f"v{len(out)}"] = x
    return out


def prepared(conn, q: Query, restrict, base_url: str, statements) -> Prepared | None:
    """The kept statements for `q`'s first page, built on first use; None: not a kept shape.
    `statements(builder)` -> (page, count): the statements as `search_bundle` builds them."""
    if q.res_type is None:
        return None
    forms = []
    for c in q.criteria:
        form = _form(c)
        if form is None:
            return None
        forms.append(form)
    values = _values(q.criteria)
    if values is None:
        return None
    clause = restrict(q.res_type) if restrict is not None else None
    dialect = conn.dialect.name
    key = (q.res_type, tuple(forms), tuple((s.param, s.descending) for s in q.sort), q.count, base_url, dialect)

    def build(compile_after: int):
        binder = Binder()
        page, count = statements(Builder(lambda _: clause, base_url, dialect=dialect, binder=binder))
        # The values as the builder bound them must be the values `_values` gives: otherwise
        # this shape is built per request.
        if binder.values != values:
            return None
        return Direct(page, compile_after=compile_after), Direct(count, compile_after=compile_after)

    kept = _searches.get(key, (clause,), build)
    return None if kept is None else Prepared(kept[0], kept[1], values)
