"""Many conditional matches of one type in one statement (a transaction's `Type?identifier=s|v`).

An imported network is a transaction of conditional updates, each keyed by an identifier; matching
them one statement each was ~30 % of an import (bench/results/*-profile-*). Here every criterion
that is a single token parameter with `system|code` values (the shape identity keys have) is looked
up in one SELECT per parameter over the same index rows and visibility (`Builder.visible`: current, not deleted,
the caller's access clause) as `execute.match`, and each criterion gets the ids `match` would give:
resources whose row has that parameter and one of its (system, code) pairs, in rid order, at most
`limit`. Criteria of any other shape are left out (the caller matches them one by one).

The SELECT looks codes up by the token index (res_type, param, code) and leaves the system to
Python: an OR of (param, system, code) triples, or a row-value IN list, used that index only as far
as `param`, so SQLite read every identifier of the type for each transaction and an import slowed
down as the database grew. One statement shape, whatever the codes, is also compiled only once.
"""
from __future__ import annotations

from sqlalchemy import bindparam, select

from ..storage.tables import idx_token, resources
from .parse import Filter, Token, parse
from .sql import Builder

R, T = resources, idx_token
_CHUNK = 200  # codes per statement: far below either database's parameter limit


def _pairs(res_type: str, params: list[tuple[str, str]]) -> tuple[str, frozenset] | None:
    """(parameter, {(system, code)}) when the criteria are one token parameter with full values."""
    q = parse(res_type, params, filters_only=True)
    if q.problems or len(q.criteria) != 1:
        return None
    f = q.criteria[0]
    if not isinstance(f, Filter) or f.param.type != "token" or f.param.column is not None \
            or f.modifier is not None or f.missing is not None or not f.values:
        return None
    if not all(isinstance(v, Token) and v.system and v.code for v in f.values):
        return None
    return f.param.name, frozenset((v.system, v.code) for v in f.values)


def match_many(conn, res_type: str, queries: list[list[tuple[str, str]]], restrict=None,
               limit: int = 2) -> dict[int, list[str]]:
    """{index in `queries`: matching ids} for the queries of the batchable shape."""
    wanted = {i: p for i, q in enumerate(queries) if (p := _pairs(res_type, q)) is not None}
    if not wanted:
        return {}
    b = Builder(restrict, dialect=conn.dialect.name)
    stmt = (select(R.c.rid, R.c.res_id, T.c.system, T.c.code)
            .join(T, T.c.rid == R.c.rid)
            .where(*b.visible(res_type), T.c.res_type == res_type, T.c.param == bindparam("k_param"),
                   T.c.code.in_(bindparam("k_codes", expanding=True))))
    found: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    for name in sorted({name for name, _ in wanted.values()}):
        pairs = {(s, c) for n, values in wanted.values() if n == name for s, c in values}
        codes = sorted({c for _, c in pairs})
        for start in range(0, len(codes), _CHUNK):
            for rid, res_id, system, code in conn.execute(stmt, {"k_param": name,
                                                                 "k_codes": codes[start:start + _CHUNK]}):
                if (system, code) in pairs:
                    found.setdefault((name, system, code), []).append((rid, res_id))
    out = {}
    for i, (name, values) in wanted.items():
        hits = {hit for s, c in values for hit in found.get((name, s, c), ())}
        out[i] = [res_id for _, res_id in sorted(hits)][:limit]
    return out
