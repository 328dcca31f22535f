"""`_include` and `_revinclude`, with `:iterate`, for one page of matches.

Each round costs a fixed number of statements however many resources the
page holds (one per include), and the
number of rounds is capped, so a page never turns into N+1 queries. Every
included resource passes the same visibility rule as a match (`restrict`,
not deleted), so an include can never reveal what the caller may not see.
"""
from __future__ import annotations

import functools
from collections import defaultdict

from sqlalchemy import and_, bindparam, false, or_, select

from ..storage.direct import Direct
from ..storage.tables import INDEX_TABLES, resources
from . import prepared, registry
from .limits import MAX_INCLUDE_ROUNDS as MAX_ROUNDS
from .limits import MAX_INCLUDED
from .parse import Include
from .sql import Builder, equals, unindexed

R = resources


def _params(include: Include, source_types: set[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(source type, parameter name, target types) that this include follows."""
    types = [include.source_type] if include.source_type else sorted(source_types)
    out = []
    for t in types:
        params = [include.param] if include.param else registry.reference_params(t)
        for p in params:
            targets = (include.target_type,) if include.target_type else p.targets
            out.append((t, p.name, tuple(x for x in targets if x in registry.REGISTRY)))
    return out


def included(conn, builder: Builder, includes: list[Include], page: list) -> list:
    """Rows (rid, res_type, res_id, body) to add in `include` mode, in a stable order."""
    if not includes or not page:
        return []
    seen = {row.rid for row in page}
    found: list = []
    frontier = list(page)
    for round_no in range(MAX_ROUNDS):
        active = [i for i in includes if round_no == 0 or i.iterate]
        if not active or not frontier:
            break
        new = []
        for inc in active:
            rows = (_reverse if inc.reverse else _forward)(conn, builder, inc, frontier)
            for row in rows:
                if row.rid not in seen and len(seen) - len(page) < MAX_INCLUDED:
                    seen.add(row.rid)
                    new.append(row)
        found += new
        frontier = new
    return found


def _forward(conn, builder: Builder, inc: Include, frontier: list) -> list:
    """The resources the frontier's references point at, in one statement: per target type, the
    visible resources whose id is among the targets of those references (two statements before,
    one to read the references and one to load their targets: a third of a search with `_include`).
    The statement is kept per shape (the include, how many rows of each type the frontier has, the
    access clauses), the frontier's rids bound by name (search/prepared.py)."""
    t = INDEX_TABLES["reference"]
    by_type = defaultdict(list)
    for row in frontier:
        by_type[row.res_type].append(row.rid)
    follows = tuple((src, pname, targets) for src, pname, targets in _params(inc, set(by_type))
                    if src in by_type and targets)
    if not follows:
        return []
    sources = sorted({src for src, _, _ in follows})
    target_types = sorted({x for _, _, targets in follows for x in targets})
    clauses = {rtype: builder.restrict(rtype) if builder.restrict else None for rtype in target_types}
    rids = [(src, rid) for src in sources for rid in by_type[src]]  # bound as i0, i1, … in this order

    def build(compile_after: int) -> Direct:
        names = defaultdict(list)
        for n, (src, _) in enumerate(rids):
            names[src].append(bindparam(f"i{n}", type_=t.c.rid.type, required=True))
        # Looked up by rid, the page's few rows; every other column is a filter (`unindexed`):
        # without statistics (SQLite always, PostgreSQL before ANALYZE) both databases started
        # from the (target_type, …) or (res_type, param, target_id) index instead, reading every
        # reference of that kind in the database, for each page.
        pointed = or_(*(and_(t.c.rid.in_(names[src]), equals(unindexed(t.c.res_type), src),
                             equals(unindexed(t.c.param), pname), _targets(targets))
                        for src, pname, targets in follows))
        visible = Builder(clauses.get, builder.base_url, dialect=builder.dialect).visible
        per_type = [and_(*visible(rtype), R.c.res_id.in_(
            select(t.c.target_id).where(pointed, equals(unindexed(t.c.target_type), rtype), _HAS_TARGET_ID,
                                        builder.local(t))))
            for rtype in target_types]
        stmt = select(R.c.rid, R.c.res_type, R.c.res_id, R.c.body).where(or_(*per_type)).order_by(R.c.rid)
        return Direct(stmt, compile_after=compile_after)

    key = (follows, tuple((src, len(by_type[src])) for src in sources), builder.base_url, conn.dialect.name)
    kept = prepared.includes.get(key, tuple(clauses.values()), build)
    return kept.all(conn, {f"i{n}": rid for n, (_, rid) in enumerate(rids)})


_HAS_TARGET_ID = unindexed(INDEX_TABLES["reference"].c.target_id).is_not(None)


@functools.lru_cache(maxsize=1024)
def _targets(targets: tuple[str, ...]):
    return unindexed(INDEX_TABLES["reference"].c.target_type).in_(targets)


def _reverse(conn, builder: Builder, inc: Include, frontier: list) -> list:
    t = INDEX_TABLES["reference"]
    ids = defaultdict(list)
    for row in frontier:
        ids[row.res_type].append(row.res_id)
    points_here = or_(false(), *(and_(t.c.target_type == rtype, t.c.target_id.in_(rids))
                                 for rtype, rids in sorted(ids.items())))
    sources = [inc.source_type] if inc.source_type else list(registry.REGISTRY)
    per_source = []
    for src in sources:
        names = [p for s, p, targets in _params(Include(src, inc.param, None, inc.iterate, True), {src})
                 if set(targets) & set(ids)]
        if not names:
            continue
        pointing = select(t.c.rid).where(t.c.res_type == src, t.c.param.in_(names), points_here,
                                         builder.local(t))
        per_source.append(and_(*builder.visible(src), R.c.rid.in_(pointing)))
    if not per_source:
        return []
    return conn.execute(
        select(R.c.rid, R.c.res_type, R.c.res_id, R.c.body).where(or_(*per_source)).order_by(R.c.rid)
    ).all()
