"""Instance and type level interactions: create, read, vread, update, patch, delete."""
from __future__ import annotations

import jsonpatch
import orjson

from ..errors import BadRequest, NotFound, PreconditionFailed, UnsupportedMediaType
from ..fhirhttp import FhirRequest, FhirResponse, parse_etag, split_url
from ..fhirtime import parse_http_date
from ..limits import check_depth
from ..validation import validate_resource
from . import Context, resource_headers, write_response

LAST_VERSION = 2**31 - 1  # versions are stored as 32-bit integers; a larger number names no version


def read(ctx: Context, req: FhirRequest) -> FhirResponse:
    stored = ctx.repo.read(req.params["type"], req.params["id"])
    headers = resource_headers(stored, ctx.base_url)
    if _not_modified(req, stored):
        return FhirResponse(304, None, headers)
    return FhirResponse(200, stored.body, headers)


def vread(ctx: Context, req: FhirRequest) -> FhirResponse:
    vid = req.params["vid"]
    if not (vid.isascii() and vid.isdigit()) or int(vid) > LAST_VERSION:
        raise NotFound(f"Version '{vid}' is not a version of this server.")
    stored = ctx.repo.vread(req.params["type"], req.params["id"], int(vid))
    headers = resource_headers(stored, ctx.base_url)
    if _not_modified(req, stored):
        return FhirResponse(304, None, headers)
    return FhirResponse(200, stored.body, headers)


def _not_modified(req: FhirRequest, stored) -> bool:
    inm = req.header("if-none-match")
    if inm is not None:
        tags = {t.strip() for t in inm.split(",")}
        return "*" in tags or any(_etag_version(t) == stored.version for t in tags)
    ims = req.header("if-modified-since")
    if ims is not None:
        since = parse_http_date(ims)
        # HTTP dates have whole seconds; compare at that precision.
        return since is not None and stored.last_updated.replace(microsecond=0) <= since
    return False


def _etag_version(tag: str) -> int | None:
    try:
        return parse_etag(tag)
    except BadRequest:
        return None


def create(ctx: Context, req: FhirRequest) -> FhirResponse:
    rtype = req.params["type"]
    resource = validate_resource(req.body, expected_type=rtype)
    condition = req.header("if-none-exist")
    if condition is not None:
        _, query = split_url("?" + condition.lstrip("?"))
        found = ctx.repo.match(rtype, query)
        if len(found) > 1:
            raise PreconditionFailed(
                f"If-None-Exist matched {len(found)} {rtype} resources; it must match at most one.")
        if found:
            return write_response(ctx, req, ctx.repo.read(rtype, found[0]), "unchanged")
    return write_response(ctx, req, ctx.repo.create(resource, res_id=req.params.get("assigned_id")), "created")


def update(ctx: Context, req: FhirRequest) -> FhirResponse:
    rtype, rid = req.params["type"], req.params["id"]
    resource = validate_resource(req.body, expected_type=rtype, expected_id=rid)
    return _update(ctx, req, rtype, rid, resource)


def _update(ctx: Context, req: FhirRequest, rtype: str, rid: str, resource: dict) -> FhirResponse:
    if_match = parse_etag(req.header("if-match"))
    stored, change = ctx.repo.update(rtype, rid, resource, if_match=if_match, method=req.method,
                                     new_id=req.params.get("new_id", False))
    return write_response(ctx, req, stored, change)


def conditional_update(ctx: Context, req: FhirRequest) -> FhirResponse:
    rtype = req.params["type"]
    resource = validate_resource(req.body, expected_type=rtype)
    found = ctx.repo.match(rtype, req.query)
    if len(found) > 1:
        raise PreconditionFailed(f"The condition matched {len(found)} {rtype} resources; it must match one at most.")
    if found:
        rid = found[0]
        if resource.get("id") not in (None, rid):
            raise BadRequest(f"The resource id '{resource['id']}' is not the id of the matched resource.",
                             expression=f"{rtype}.id")
    else:
        rid = resource.get("id")
        if rid is None:
            return create(ctx, req)
    return _update(ctx, req, rtype, rid, resource)


def patch(ctx: Context, req: FhirRequest) -> FhirResponse:
    rtype, rid = req.params["type"], req.params["id"]
    return _patch(ctx, req, rtype, rid)


def conditional_patch(ctx: Context, req: FhirRequest) -> FhirResponse:
    rtype = req.params["type"]
    found = ctx.repo.match(rtype, req.query)
    if len(found) != 1:
        raise PreconditionFailed(f"A conditional patch must match exactly one {rtype}; it matched {len(found)}.")
    return _patch(ctx, req, rtype, found[0])


def _patch(ctx: Context, req: FhirRequest, rtype: str, rid: str) -> FhirResponse:
    ctype = (req.header("content-type") or "").split(";")[0].strip().lower()
    if req.raw_body and ctype != "application/json-patch+json":
        raise UnsupportedMediaType("PATCH accepts JSON Patch (application/json-patch+json) only.")
    if not isinstance(req.body, list):
        raise BadRequest("A JSON Patch document is a JSON array of operations.")
    current = ctx.repo.read(rtype, rid)
    try:
        patched = jsonpatch.JsonPatch(req.body).apply(orjson.loads(current.body))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        raise BadRequest(f"The patch cannot be applied: {exc}") from None
    resource = validate_resource(check_depth(patched, "The patched resource"), expected_type=rtype, expected_id=rid)
    return _update(ctx, req, rtype, rid, resource)


def delete(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _delete(ctx, req.params["type"], req.params["id"])


def conditional_delete(ctx: Context, req: FhirRequest) -> FhirResponse:
    rtype = req.params["type"]
    found = ctx.repo.match(rtype, req.query)
    if len(found) > 1:
        raise PreconditionFailed(f"The condition matched {len(found)} {rtype} resources; a conditional delete deletes one at most.")
    if not found:
        return FhirResponse(204)
    return _delete(ctx, rtype, found[0])


def _delete(ctx: Context, rtype: str, rid: str) -> FhirResponse:
    stored = ctx.repo.delete(rtype, rid)
    if stored is None:
        return FhirResponse(204, change="unchanged", reference=f"{rtype}/{rid}")
    return FhirResponse(204, None, {"ETag": f'W/"{stored.version}"'}, change="deleted", reference=stored.reference)
