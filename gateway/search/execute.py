"""Running a search: the page, its total, its includes, its links.

Statements per page, independent of page size: one for the page, one for
the total (unless `_total=none`, or the first page holds every match, whose
number is then the total), and at most two per include round (rounds are
capped).
"""
from __future__ import annotations

from sqlalchemy import func, select

from ..errors import BadRequest, Issue
from ..storage.tables import resources
from . import bundle, paging
from .include import included
from .parse import PAGE, Query, parse
from .prepared import prepared
from .sql import Builder, sort_expression

R = resources


def _reject(problems) -> BadRequest:
    issues = [Issue("error", "invalid", p.message, (p.name,)) for p in problems]
    return BadRequest(issues[0].diagnostics, issues=issues)


def match(conn, res_type: str, params: list[tuple[str, str]], restrict=None, limit: int = 2) -> list[str]:
    """Ids of current resources matching every parameter (conditional create/update/delete)."""
    q = parse(res_type, params, filters_only=True)
    if q.problems:
        raise _reject(q.problems)
    if not q.criteria:
        raise BadRequest("A conditional request needs at least one search parameter.")
    b = Builder(restrict, dialect=conn.dialect.name)
    stmt = select(R.c.res_id).where(*b.where(res_type, q.criteria)).order_by(R.c.rid).limit(limit)
    return list(conn.execute(stmt).scalars())


def search_bundle(conn, *, res_type: str | None, params: list[tuple[str, str]], base_url: str,
                  strict: bool, page_key: bytes, restrict=None) -> tuple[bytes, list]:
    """(the searchset Bundle, the rows it shows: matches, then included), the rows as stored, whatever
    `_summary` or `_elements` left of them in the Bundle."""
    base_url = base_url.rstrip("/")
    cursor = paging.from_request(page_key, params, res_type)
    if cursor is not None:
        params = cursor.params
    q = parse(res_type, params, base_url=base_url)
    # The one rule: a malformed value for a known parameter (or a limit exceeded) always refuses
    # the search, so a filter is never silently dropped; `handling=lenient` (the default) only
    # ignores parameters the server does not know, and says so in the Bundle.
    refused = [p for p in q.problems if strict or cursor is not None or not p.unknown]
    if refused:
        raise _reject(refused)
    problems = [Issue("warning", "not-supported", f"Ignored: {p.message}", (p.name,)) for p in q.problems]

    b = Builder(restrict, base_url, dialect=conn.dialect.name)
    keys = _keys(q)
    total = None
    count_only = q.count == 0 or q.summary == "count"
    wants_total = q.total != "none" or count_only
    backward = cursor is not None and cursor.backward

    def statements(builder: Builder):
        conds = builder.where(res_type, q.criteria)
        page = select(R.c.rid, R.c.res_type, R.c.res_id, R.c.body,
                      *(k.expr.label(f"k{i}") for i, k in enumerate(keys))).where(*conds)
        if cursor is not None:
            page = page.where(paging.after(keys, cursor.values, backward))
        page = page.order_by(*paging.order_by(keys, backward)).limit(q.count + 1)
        return page, select(func.count()).select_from(R).where(*conds)

    kept = prepared(conn, q, restrict, base_url, statements) if cursor is None else None
    if kept is not None:
        def run(which: int) -> list:
            return (kept.page, kept.count)[which].all(conn, kept.values)
    else:
        built = statements(b)

        def run(which: int) -> list:
            return conn.execute(built[which]).all()

    matches, includes, links = [], [], {}
    self_params = q.applied if cursor is None else [(PAGE, paging.sign(page_key, cursor))]
    links["self"] = bundle.page_url(base_url, res_type, self_params)
    if not count_only:
        rows = run(0)
        more = len(rows) > q.count
        rows = rows[:q.count]
        if backward:
            rows.reverse()
        matches = rows
        has_next = more if not backward else True
        has_prev = cursor is not None and (more if backward else True)
        if rows and has_prev:
            links["previous"] = _link(page_key, base_url, res_type, q, keys, rows[0], backward=True)
        if rows and has_next:
            links["next"] = _link(page_key, base_url, res_type, q, keys, rows[-1], backward=False)
        includes = included(conn, b, q.includes, matches)
        if wants_total and cursor is None and not more:
            total = len(rows)  # the first page holds every match: that is the count, no COUNT needed
    if wants_total and total is None:
        total = run(1)[0][0]
    body = bundle.searchset(base_url=base_url, total=total, links=links, matches=matches,
                            includes=includes, problems=problems, summary=q.summary, elements=q.elements)
    return body, matches + includes


def _keys(q: Query) -> list[paging.Key]:
    keys = [paging.Key(sort_expression(s.param, s.descending), s.descending) for s in q.sort]
    # rid last: unique and increasing, so the order is total and new rows go last.
    keys.append(paging.Key(R.c.rid, False, nullable=False))
    return keys


def _link(key: bytes, base_url: str, res_type: str | None, q: Query, keys, row, *, backward: bool) -> str:
    values = tuple(getattr(row, f"k{i}") for i in range(len(keys)))
    token = paging.sign(key, paging.Cursor(res_type, q.applied, values, backward))
    return bundle.page_url(base_url, res_type, [(PAGE, token)])

