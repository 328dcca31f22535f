"""History at instance, type and system level: newest first, paged by a signed sequence cursor.

Page links use the search paging code (search/paging.py): one `_cursor`
parameter holding `_since`, `_count` and the sequence number of the last
entry shown, HMAC-signed and bound to this endpoint, so an edited, foreign
or out-of-range cursor is a 400, never a query.
"""
from __future__ import annotations

import orjson

from .. import fhirtime
from ..errors import BadRequest
from ..fhirhttp import FhirRequest, FhirResponse, etag
from ..search import paging
from ..search.bundle import page_url
from ..search.limits import DEFAULT_COUNT
from ..search.parse import Problem, capped_count
from . import Context

_STATUS = {"POST": "201 Created", "PUT": "200 OK", "PATCH": "200 OK", "DELETE": "204 No Content"}
_KEPT = ("_since", "_count")  # what a page link carries
_MAX_SEQ = 2 ** 63 - 1  # the sequence column's range
_UNSUPPORTED = ("_at", "_list")  # R4 history parameters this server does not implement


def instance_history(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _history(ctx, req, req.params["type"], req.params["id"])


def type_history(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _history(ctx, req, req.params["type"], None)


def system_history(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _history(ctx, req, None, None)


def _history(ctx: Context, req: FhirRequest, rtype: str | None, rid: str | None) -> FhirResponse:
    path = "/".join(p for p in (rtype, rid, "_history") if p)
    params = list(req.query)
    cursor = paging.from_request(ctx.page_key, params, path)
    before = None
    if cursor is not None:
        params, before = cursor.params, _sequence(cursor.values)
    args = dict(params)
    for name in _UNSUPPORTED:
        if name in args:  # ignoring them would answer with more than was asked for
            raise BadRequest(f"History does not support {name}.", expression=name)
    count = _count(args.get("_count"))
    since = _since(args.get("_since"))
    rows = ctx.repo.history(rtype, rid, since=since, before_seq=before, count=count + 1)
    more, rows = len(rows) > count, rows[:count]

    kept = [(k, v) for k, v in params if k in _KEPT]

    def link(relation: str, page: paging.Cursor | None) -> dict:
        query = [(paging.PAGE, paging.sign(ctx.page_key, page))] if page else kept
        return {"relation": relation, "url": page_url(ctx.base_url, path, query)}

    links = [link("self", cursor)]
    if more:
        links.append(link("next", paging.Cursor(path, kept, (rows[-1].seq,), False)))
    entries = []
    for row in rows:
        s = row.stored
        entry = {"fullUrl": f"{ctx.base_url}/{s.res_type}/{s.res_id}"}
        if s.body is not None:
            entry["resource"] = orjson.Fragment(s.body)
        entry["request"] = {"method": row.method,
                            "url": s.res_type if row.method == "POST" else f"{s.res_type}/{s.res_id}"}
        entry["response"] = {"status": _STATUS.get(row.method, "200 OK"), "etag": etag(s.version),
                             "lastModified": fhirtime.instant(s.last_updated)}
        entries.append(entry)
    bundle = {"resourceType": "Bundle", "type": "history", "link": links, "entry": entries}
    return FhirResponse(200, orjson.dumps(bundle))


def _count(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_COUNT
    try:
        count = capped_count("_count", raw)
    except Problem:
        count = 0
    if count < 1:
        raise BadRequest("_count must be a whole number of at least 1.", expression="_count")
    return count


def _since(raw: str | None):
    if raw is None:
        return None
    try:
        since = fhirtime.parse_instant(raw)
    except (ValueError, OverflowError):
        since = None
    if since is None:
        raise BadRequest("_since must be a FHIR instant, e.g. 2026-01-31T12:00:00Z.", expression="_since")
    return since


def _sequence(values: tuple) -> int:
    """The anchor of a signed history cursor; a search cursor (other shape) is refused."""
    if len(values) != 1 or type(values[0]) is not int or not 1 <= values[0] <= _MAX_SEQ:
        raise BadRequest("The page link is not a history page link.", expression=(paging.PAGE,))
    return values[0]
