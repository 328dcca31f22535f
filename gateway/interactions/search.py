"""Search at type and system level (GET, and POST form-encoded `_search`)."""
from __future__ import annotations

from ..fhirhttp import FhirRequest, FhirResponse
from . import Context


def type_search(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _search(ctx, req, req.params["type"])


def system_search(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _search(ctx, req, None)


def _search(ctx: Context, req: FhirRequest, rtype: str | None) -> FhirResponse:
    # POST _search: parameters come in the form body as well as the URL.
    params = list(req.query) + list(req.params.get("form", []))
    body = ctx.repo.search(rtype, params, base_url=ctx.base_url, strict=req.prefer_strict,
                           page_key=ctx.page_key)
    return FhirResponse(200, body)
