"""POST / with a batch or transaction Bundle.

Each entry is turned into a FhirRequest and routed through the same table
and handlers as a plain HTTP request, so a bundle can do nothing a single
request could not. A transaction runs in the request's one database
transaction: the first failing entry rolls everything back and the error
names that entry. A batch runs each entry in its own savepoint.
"""
from __future__ import annotations

import base64
import logging
import uuid
from http import HTTPStatus

import orjson

from ..errors import BadRequest, FhirError, Issue, PreconditionFailed, internal_error, outcome
from ..fhirhttp import FhirRequest, FhirResponse, split_url
from ..resource_types import SERVED
from ..validation import parse_json, same_validity
from . import Context

# http.html#trules: deletes, then creates, then updates and patches, then reads.
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_CONDITIONS = (("ifNoneExist", "if-none-exist"), ("ifMatch", "if-match"),
               ("ifNoneMatch", "if-none-match"), ("ifModifiedSince", "if-modified-since"))
log = logging.getLogger("samenzorg")


def process(ctx: Context, req: FhirRequest) -> FhirResponse:
    bundle = req.body
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base expects a Bundle of type batch or transaction.",
                         expression="Bundle")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise BadRequest(f"Bundle.type must be 'batch' or 'transaction', not '{kind}'.", expression="Bundle.type")
    entries = _entries(bundle)
    if kind == "transaction":
        results = [_entry_response(r) for r in run_transaction(ctx, req, entries)]
    else:
        results = [_error_response(r) if isinstance(r, FhirError) else _entry_response(r)
                   for r in run_batch(ctx, req, entries)]
    response = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": f"{kind}-response",
                "entry": results}
    return FhirResponse(200, orjson.dumps(response))


def written_resources(body: object) -> list:
    """The resources a batch or transaction Bundle creates or replaces (to check before it runs)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle" or not isinstance(body.get("entry"), list):
        return []
    return [e["resource"] for e in body["entry"] if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            and _method(e) in ("POST", "PUT")]


def _entries(bundle: dict) -> list[dict]:
    """Bundle.entry, checked to be a list of objects whose fullUrls are unique strings (bdl-7)."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise BadRequest("Bundle.entry must be a list of entries.", expression="Bundle.entry")
    first: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"Bundle.entry[{i}]"
        if not isinstance(entry, dict):
            raise BadRequest(f"{where} must be an object with a request.", expression=where)
        if "fullUrl" not in entry:
            continue
        full_url = entry["fullUrl"]
        if not isinstance(full_url, str) or not full_url:
            raise BadRequest(f"{where}.fullUrl must be a URL string.", expression=f"{where}.fullUrl")
        if full_url in first:
            raise BadRequest(f"{where}.fullUrl '{full_url}' is also the fullUrl of Bundle.entry[{first[full_url]}]; "
                             "fullUrls must be unique in a Bundle.", expression=f"{where}.fullUrl")
        first[full_url] = i
    return entries


def _method(entry: dict) -> str | None:
    request = entry.get("request")
    method = request.get("method") if isinstance(request, dict) else None
    return method if isinstance(method, str) and method in _ORDER else None


def _entry_request(req: FhirRequest, entry: dict, index: int) -> FhirRequest:
    where = f"Bundle.entry[{index}]"
    request = entry.get("request")
    if not isinstance(request, dict):
        raise BadRequest(f"{where}.request must be an object with a method and a url.", expression=f"{where}.request")
    method, url = _method(entry), request.get("url")
    if method is None:
        raise BadRequest(f"{where}.request.method must be one of GET, HEAD, POST, PUT, PATCH, DELETE.",
                         expression=f"{where}.request.method")
    if not isinstance(url, str) or not url.strip("/"):
        raise BadRequest(f"{where}.request.url must be a URL relative to the base, e.g. 'Patient/123'.",
                         expression=f"{where}.request.url")
    if req.base_url and url.startswith(req.base_url + "/"):
        url = url[len(req.base_url) + 1:]
    path, query = split_url(url)
    headers = {k: v for k, v in req.headers.items() if k in ("prefer",)}
    for field, header in _CONDITIONS:
        if field in request:
            if not isinstance(request[field], str):
                raise BadRequest(f"{where}.request.{field} must be a string.", expression=f"{where}.request.{field}")
            headers[header] = request[field]
    body = entry.get("resource")
    if body is not None and not isinstance(body, dict):
        raise BadRequest(f"{where}.resource must be a resource (a JSON object).", expression=f"{where}.resource")
    if body is None and (method == "PUT" or (method == "POST" and "$" not in path and not path.endswith("_search"))):
        raise BadRequest(f"{where} is a {method} without a resource to write.", expression=f"{where}.resource")
    if method == "PATCH" and isinstance(body, dict) and body.get("resourceType") == "Binary":
        body = _patch_document(body, f"{where}.resource.data")
        headers["content-type"] = "application/json-patch+json"
    return FhirRequest(method, path, query, headers, body, b"", req.base_url)


def _patch_document(binary: dict, where: str) -> object:
    """The JSON Patch a PATCH entry carries base64-encoded in a Binary."""
    data = binary.get("data")
    try:
        if not isinstance(data, str):
            raise ValueError
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise BadRequest(f"{where} must be a base64 JSON Patch document.", expression=where) from None
    try:
        return parse_json(raw)
    except BadRequest as error:
        raise BadRequest(f"{where}: {error.diagnostics}", expression=where) from None


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
    """Every entry answered on its own: a failing one (whatever the error) leaves nothing stored."""
    results: list = [None] * len(entries)
    for i in sorted(range(len(entries)), key=lambda i: _ORDER.get(_method(entries[i]), 9)):
        savepoint = ctx.repo.conn.begin_nested()
        mark = len(ctx.repo.audits)
        try:
            results[i] = _dispatch(ctx, _entry_request(req, entries[i], i))
            savepoint.commit()
        except Exception as error:  # whatever failed, this entry alone answers for it
            savepoint.rollback()
            ctx.repo.discard_disclosures(mark)
            if not isinstance(error, FhirError):
                request_id = req.header("x-request-id") or uuid.uuid4().hex
                log.exception("unhandled error in Bundle.entry[%d] (request %s)", i, request_id)
                error = internal_error(request_id)
            results[i] = error
    return results


def run_transaction(ctx: Context, req: FhirRequest, entries: list[dict]) -> list[FhirResponse]:
    """All entries or none: the first failure raises, naming its entry, and the caller rolls back."""
    subs = [_with_index(i, lambda i=i: _entry_request(req, entries[i], i)) for i in range(len(entries))]
    ids = _assign_ids(ctx, entries, subs)
    _refuse_overlaps(subs)
    for i, sub in enumerate(subs):
        if isinstance(sub.body, dict):
            sub.body = same_validity(sub.body, _with_index(i, lambda sub=sub: _resolve_references(ctx, sub.body, ids)))
    results: list = [None] * len(entries)
    with ctx.repo.holding_rows():
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
    error.issues = [Issue(i.severity, i.code,
                          i.diagnostics if i.diagnostics.startswith(prefix) else f"{prefix}: {i.diagnostics}",
                          tuple(f"{prefix}.resource.{e}" if not e.startswith("Bundle") else e
                                for e in i.expression))
                    for i in error.issues]
    error.diagnostics = error.issues[0].diagnostics
    return error


def _assign_ids(ctx: Context, entries: list[dict], subs: list[FhirRequest]) -> dict[str, str]:
    """Decide the id of every created or conditionally updated entry before any write.

    Returns fullUrl -> "Type/id", so references between entries can be
    rewritten. POST entries get their server id now; a matched If-None-Exist
    or conditional PUT points the fullUrl at the existing resource. Entries
    with the same condition get the same target: a second If-None-Exist
    reads what the first one creates (as HAPI does); a conditional PUT with
    the criteria of an earlier entry is then refused as a second write of it.
    """
    ids: dict[str, str] = {}
    targets: dict[tuple, str] = {}  # (type, criteria as a set) -> the id the first such entry got
    matched = _match_identifiers(ctx, subs)
    for i, (entry, sub) in enumerate(zip(entries, subs)):
        full_url = entry.get("fullUrl")
        rtype = sub.path.split("/")[0]
        if sub.method == "POST" and "/" not in sub.path and rtype in SERVED:
            target = None
            if sub.header("if-none-exist"):
                _, query = split_url("?" + sub.header("if-none-exist").lstrip("?"))
                key = _criteria_key(rtype, query)
                target = targets.get(key) or _match_one(ctx, i, rtype, query, "ifNoneExist", matched)
                if target is None:
                    targets[key] = target = str(uuid.uuid4())
                    sub.params = {"assigned_id": target}  # the create uses the id references now point at
                    sub.headers.pop("if-none-exist", None)
                else:
                    targets[key] = target
                    sub.method, sub.path, sub.body = "GET", f"{rtype}/{target}", None
            else:
                target = str(uuid.uuid4())
                sub.params = {"assigned_id": target}
            if full_url:
                ids[full_url] = f"{rtype}/{target}"
        elif sub.method == "PUT" and "/" not in sub.path and rtype in SERVED:
            key = _criteria_key(rtype, sub.query)
            body_id = sub.body.get("id") if isinstance(sub.body, dict) else None
            target = targets.get(key) or _match_one(ctx, i, rtype, sub.query, "The conditional update", matched) \
                or (body_id if isinstance(body_id, str) else None)
            if target is None:  # a new resource, with an id nothing can have yet
                target = str(uuid.uuid4())
                sub.params = {"new_id": True}
            targets[key] = target
            sub.path, sub.query = f"{rtype}/{target}", []
            if isinstance(sub.body, dict):
                sub.body = same_validity(sub.body, {**sub.body, "id": target})
            if full_url:
                ids[full_url] = f"{rtype}/{target}"
        elif full_url and sub.method == "PUT" and sub.path.count("/") == 1:
            ids[full_url] = sub.path
    return ids


def _criteria_key(rtype: str, query: list) -> tuple:
    """Criteria that mean one search (order and repeats aside) give one key."""
    return rtype, tuple(sorted(set(query)))


def _conditions(subs: list[FhirRequest]):
    """(index, type, criteria) of every entry `_assign_ids` will match."""
    for i, sub in enumerate(subs):
        rtype = sub.path.split("/")[0]
        if "/" in sub.path or rtype not in SERVED:
            continue
        if sub.method == "POST" and sub.header("if-none-exist"):
            yield i, rtype, split_url("?" + sub.header("if-none-exist").lstrip("?"))[1]
        elif sub.method == "PUT":
            yield i, rtype, sub.query


def _match_identifiers(ctx: Context, subs: list[FhirRequest]) -> dict[int, list[str]]:
    """The matches of every identifier-keyed condition, one statement per type (an imported network
    is a transaction of such conditional updates); entry index -> ids. Read before any write, as
    each entry's own match is; other shapes are matched entry by entry."""
    per_type: dict[str, list[tuple[int, list]]] = {}
    for i, rtype, query in _conditions(subs):
        per_type.setdefault(rtype, []).append((i, query))
    out: dict[int, list[str]] = {}
    for rtype, items in per_type.items():
        found = ctx.repo.match_many(rtype, [query for _, query in items])
        out.update({items[k][0]: ids for k, ids in found.items()})
    return out


def _match_one(ctx: Context, index: int, rtype: str, query: list, what: str,
               matched: dict[int, list[str]] | None = None) -> str | None:
    if matched is not None and index in matched:
        found = matched[index]
    else:
        found = _with_index(index, lambda: ctx.repo.match(rtype, query))
    if len(found) > 1:
        raise _entry_error(index, PreconditionFailed(f"{what} matched {len(found)} {rtype} resources."))
    return found[0] if found else None


def _refuse_overlaps(subs: list[FhirRequest]) -> None:
    """A transaction writes each resource once (http.html#trules): two writes of one identity fail it."""
    writer: dict[str, int] = {}
    for i, sub in enumerate(subs):
        if sub.method == "POST" and "assigned_id" in sub.params:
            identity = f"{sub.path.strip('/')}/{sub.params['assigned_id']}"
        elif sub.method in ("PUT", "PATCH", "DELETE") and sub.path.count("/") == 1:
            identity = sub.path
        else:
            continue
        if identity in writer:
            raise _entry_error(i, BadRequest(
                f"Bundle.entry[{i}] writes {identity}, as Bundle.entry[{writer[identity]}] does; "
                "a transaction may write each resource once.", expression=f"Bundle.entry[{i}].request"))
        writer[identity] = i


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
