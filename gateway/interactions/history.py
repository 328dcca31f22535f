"""History at instance, type and system level: newest first, paged by a sequence cursor."""
from __future__ import annotations

import orjson

from .. import fhirtime
from ..errors import BadRequest
from ..fhirhttp import FhirRequest, FhirResponse, etag
from . import Context

DEFAULT_COUNT, MAX_COUNT = 20, 500
_STATUS = {"POST": "201 Created", "PUT": "200 OK", "PATCH": "200 OK", "DELETE": "204 No Content"}


def instance_history(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _history(ctx, req, req.params["type"], req.params["id"])


def type_history(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _history(ctx, req, req.params["type"], None)


def system_history(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _history(ctx, req, None, None)


def _history(ctx: Context, req: FhirRequest, rtype: str | None, rid: str | None) -> FhirResponse:
    args = dict(req.query)
    count = _int_arg(args, "_count", DEFAULT_COUNT, 1, MAX_COUNT)
    before = _int_arg(args, "_cursor", None, 1, None)
    since = None
    if "_since" in args:
        since = fhirtime.parse_instant(args["_since"])
        if since is None:
            raise BadRequest("_since must be a FHIR instant, e.g. 2026-01-31T12:00:00Z.", expression="_since")
    rows = ctx.repo.history(rtype, rid, since=since, before_seq=before, count=count + 1)
    more, rows = len(rows) > count, rows[:count]

    path = "/".join(p for p in (rtype, rid, "_history") if p)
    base = f"{ctx.base_url}/{path}"
    keep = [(k, v) for k, v in req.query if k in ("_since", "_count")]

    def link(relation: str, cursor: int | None) -> dict:
        query = keep + ([("_cursor", str(cursor))] if cursor else [])
        qs = "&".join(f"{k}={v}" for k, v in query)
        return {"relation": relation, "url": f"{base}?{qs}" if qs else base}

    links = [link("self", before)]
    if more:
        links.append(link("next", rows[-1].seq))
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


def _int_arg(args: dict, name: str, default, low: int, high: int | None):
    if name not in args:
        return default
    raw = args[name]
    if not raw.isdigit() or int(raw) < low:
        raise BadRequest(f"{name} must be a whole number of at least {low}.", expression=name)
    value = int(raw)
    return min(value, high) if high else value
