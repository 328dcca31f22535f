"""Importing a care-network document: `POST /fhir/$import-network` and the CLI.

The document is validated whole (every problem listed), mapped to a
transaction Bundle by the pure `mappings` package, and applied as one
transaction through the same handlers as any other write.
"""
from __future__ import annotations

import orjson

from ..errors import Invalid, Issue
from ..fhirhttp import FhirRequest, FhirResponse
from . import Context
from .bundle import run_transaction
from .operations import operation


def import_network(ctx: Context, document: object) -> dict[str, list[str]]:
    """Apply one network document; returns references by change (created/updated/unchanged)."""
    from mappings import NetworkInvalid, load_network, network_to_fhir

    try:
        doc = load_network(document)
    except NetworkInvalid as exc:
        issues = [Issue("error", "invalid", p["message"], (p["path"],)) for p in exc.problems]
        raise Invalid(f"The network document is invalid ({len(issues)} problems).", issues=issues) from None
    bundle = network_to_fhir(doc)
    req = FhirRequest("POST", "", [], {"prefer": "return=minimal"}, bundle, b"", ctx.base_url)
    summary: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for resp in run_transaction(ctx, req, bundle.get("entry", [])):
        reference = resp.reference or _reference_from_location(resp)
        summary[resp.change or "unchanged"].append(reference)
    return summary


def _reference_from_location(resp: FhirResponse) -> str:
    location = resp.headers.get("Location") or resp.headers.get("Content-Location") or ""
    parts = location.split("/_history")[0].split("/")
    return "/".join(parts[-2:])


@operation("POST", "system", "import-network")
def import_network_operation(ctx: Context, req: FhirRequest) -> FhirResponse:
    if not ctx.repo.policy.unrestricted:
        raise ctx.repo.refuse("$import-network is for system clients (record systems).")
    summary = import_network(ctx, req.body)
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": change, "valueReference": {"reference": ref}}
        for change in ("created", "updated", "unchanged") for ref in summary[change]
    ]}
    return FhirResponse(200, orjson.dumps(parameters))
