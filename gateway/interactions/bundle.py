"""POST / with a batch or transaction Bundle.

Each entry is turned into a FhirRequest and routed through the same table
and handlers as a plain HTTP request, so a bundle can do nothing a single
request could not. A transaction runs in the request's one database
transaction: the first failing entry rolls everything back and the error
names that entry. A batch runs each entry in its own savepoint.
"""
from __future__ import annotations

import base64
import uuid
from http import HTTPStatus

import orjson

from ..errors import BadRequest, FhirError, Issue, PreconditionFailed, outcome
from ..fhirhttp import FhirRequest, FhirResponse, split_url
from ..resource_types import SERVED
from . import Context

# http.html#trules: deletes, then creates, then updates and patches, then reads.
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def process(ctx: Context, req: FhirRequest) -> FhirResponse:
    bundle = req.body
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base expects a Bundle of type batch or transaction.",
                         expression="Bundle")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise BadRequest(f"Bundle.type must be 'batch' or 'transaction', not '{kind}'.", expression="Bundle.type")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadRequest("Bundle.entry must be a list of objects.", expression="Bundle.entry")
    if kind == "transaction":
        results = [_entry_response(r) for r in run_transaction(ctx, req, entries)]
    else:
        results = [_error_response(r) if isinstance(r, FhirError) else _entry_response(r)
                   for r in run_batch(ctx, req, entries)]
    response = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": f"{kind}-response",
                "entry": results}
    return FhirResponse(200, orjson.dumps(response))


def _entry_request(req: FhirRequest, entry: dict, index: int) -> FhirRequest:
    request = entry.get("request")
    where = f"Bundle.entry[{index}].request"
    if not isinstance(request, dict):
        raise BadRequest(f"{where} is missing.", expression=where)
    method, url = request.get("method"), request.get("url")
    if method not in _ORDER or not isinstance(url, str) or not url:
        raise BadRequest(f"{where} needs a method (GET, POST, PUT, PATCH, DELETE) and a url.", expression=where)
    path, query = split_url(url)
    headers = {k: v for k, v in req.headers.items() if k in ("prefer",)}
    for field, header in (("ifNoneExist", "if-none-exist"), ("ifMatch", "if-match"),
                          ("ifNoneMatch", "if-none-match"), ("ifModifiedSince", "if-modified-since")):
        if isinstance(request.get(field), str):
            headers[header] = request[field]
    body = entry.get("resource")
    if method == "PATCH" and isinstance(body, dict) and body.get("resourceType") == "Binary":
        body = orjson.loads(_binary_data(body))
        headers["content-type"] = "application/json-patch+json"
    return FhirRequest(method, path, query, headers, body, b"", req.base_url)


def _binary_data(binary: dict) -> bytes:
    try:
        return base64.b64decode(binary.get("data", ""), validate=True)
    except ValueError:
        raise BadRequest("A PATCH entry's Binary.data is not base64.") from None


def _dispatch(ctx: Context, sub: FhirRequest) -> FhirResponse:
    if sub.method == "POST" and sub.path.strip("/") == "":
        raise BadRequest("A bundle cannot contain another batch or transaction.")
    return ctx.dispatch(ctx, sub)


def _entry_response(resp: FhirResponse) -> dict:
    out: dict = {"response": {"status": f"{resp.status} {HTTPStatus(resp.status).phrase}"}}
    for header, field in (("Location", "location"), ("ETag", "etag")):
        if header in resp.headers:
            out["response"][field] = resp.headers[header]
    if "Last-Modified" in resp.headers:
        from email.utils import parsedate_to_datetime

        out["response"]["lastModified"] = parsedate_to_datetime(resp.headers["Last-Modified"]).isoformat()
    if resp.body:
        out["resource"] = orjson.Fragment(resp.body)
    return out


def _error_response(error: FhirError) -> dict:
    return {"response": {"status": f"{error.status} {HTTPStatus(error.status).phrase}",
                         "outcome": outcome(error.issues)}}


def run_batch(ctx: Context, req: FhirRequest, entries: list[dict]) -> list[FhirResponse | FhirError]:
    results: list = [None] * len(entries)
    order = sorted(range(len(entries)), key=lambda i: _ORDER.get((entries[i].get("request") or {}).get("method"), 9))
    for i in order:
        savepoint = ctx.repo.conn.begin_nested()
        try:
            results[i] = _dispatch(ctx, _entry_request(req, entries[i], i))
            savepoint.commit()
        except FhirError as error:
            savepoint.rollback()
            results[i] = error
    return results


def run_transaction(ctx: Context, req: FhirRequest, entries: list[dict]) -> list[FhirResponse]:
    """All entries or none: the first failure raises, naming its entry, and the caller rolls back."""
    subs = [_with_index(i, lambda i=i: _entry_request(req, entries[i], i)) for i in range(len(entries))]
    ids = _assign_ids(ctx, entries, subs)
    for i, sub in enumerate(subs):
        if isinstance(sub.body, dict):
            sub.body = _with_index(i, lambda sub=sub: _resolve_references(ctx, sub.body, ids))
    results: list = [None] * len(entries)
    for i in sorted(range(len(subs)), key=lambda i: _ORDER[subs[i].method]):
        results[i] = _with_index(i, lambda i=i: _dispatch(ctx, subs[i]))
    return results


def _with_index(index: int, step):
    """Run one entry's step; a failure names the entry and aborts the transaction."""
    try:
        return step()
    except FhirError as error:
        raise _entry_error(index, error) from None


def _entry_error(index: int, error: FhirError) -> FhirError:
    prefix = f"Bundle.entry[{index}]"
    error.issues = [Issue(i.severity, i.code, f"{prefix}: {i.diagnostics}",
                          tuple(f"{prefix}.resource.{e}" if not e.startswith("Bundle") else e
                                for e in i.expression))
                    for i in error.issues]
    error.diagnostics = error.issues[0].diagnostics
    return error


def _assign_ids(ctx: Context, entries: list[dict], subs: list[FhirRequest]) -> dict[str, str]:
    """Decide the id of every created or conditionally updated entry before any write.

    Returns fullUrl -> "Type/id", so references between entries can be
    rewritten. POST entries get their server id now; a matched If-None-Exist
    or conditional PUT points the fullUrl at the existing resource.
    """
    ids: dict[str, str] = {}
    for i, (entry, sub) in enumerate(zip(entries, subs)):
        full_url = entry.get("fullUrl")
        rtype = sub.path.split("/")[0]
        if sub.method == "POST" and "/" not in sub.path and rtype in SERVED:
            target = None
            if sub.header("if-none-exist"):
                _, query = split_url("?" + sub.header("if-none-exist").lstrip("?"))
                found = _with_index(i, lambda: ctx.repo.match(rtype, query))
                if len(found) > 1:
                    raise _entry_error(i, PreconditionFailed(f"ifNoneExist matched {len(found)} resources."))
                target = found[0] if found else None
            if target is None:
                target = str(uuid.uuid4())
                sub.params = {"assigned_id": target}  # the create uses the id references now point at
                sub.headers.pop("if-none-exist", None)
            else:
                sub.method, sub.path, sub.body = "GET", f"{rtype}/{target}", None
            if full_url:
                ids[full_url] = f"{rtype}/{target}"
        elif sub.method == "PUT" and "/" not in sub.path and rtype in SERVED:
            found = _with_index(i, lambda: ctx.repo.match(rtype, sub.query))
            if len(found) > 1:
                raise _entry_error(i, PreconditionFailed(
                    f"The conditional update matched {len(found)} {rtype} resources."))
            body_id = sub.body.get("id") if isinstance(sub.body, dict) else None
            target = found[0] if found else (body_id or str(uuid.uuid4()))
            sub.path, sub.query = f"{rtype}/{target}", []
            if isinstance(sub.body, dict):
                sub.body = {**sub.body, "id": target}
            if full_url:
                ids[full_url] = f"{rtype}/{target}"
        elif full_url and sub.method == "PUT" and sub.path.count("/") == 1:
            ids[full_url] = sub.path
    return ids


def _resolve_references(ctx: Context, node, ids: dict[str, str]):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                out[key] = _resolve_one(ctx, value, ids)
            else:
                out[key] = _resolve_references(ctx, value, ids)
        return out
    if isinstance(node, list):
        return [_resolve_references(ctx, v, ids) for v in node]
    return node


def _resolve_one(ctx: Context, reference: str, ids: dict[str, str]) -> str:
    if reference in ids:
        return ids[reference]
    if reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
        raise BadRequest(f"Reference '{reference}' names no entry of this transaction.")
    if "?" in reference:  # a conditional reference (http.html#trules)
        rtype, _, qs = reference.partition("?")
        if rtype in SERVED:
            _, query = split_url(reference)
            found = ctx.repo.match(rtype, query)
            if len(found) != 1:
                raise PreconditionFailed(
                    f"Conditional reference '{reference}' matched {len(found)} resources; it must match one.")
            return f"{rtype}/{found[0]}"
    return reference
