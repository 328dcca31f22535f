"""GET /metadata: a CapabilityStatement that lists only what works."""
from __future__ import annotations

from functools import lru_cache

import orjson

from .. import __version__
from ..fhirhttp import FhirRequest, FhirResponse
from ..resource_types import SERVED_TYPES
from . import Context

_TYPE_INTERACTIONS = ["read", "vread", "update", "patch", "delete", "history-instance",
                      "history-type", "create", "search-type"]


def metadata(ctx: Context, req: FhirRequest) -> FhirResponse:
    return FhirResponse(200, _statement(ctx.base_url, bool(ctx.settings.cors_origins)))


@lru_cache(maxsize=8)
def _statement(base_url: str, cors: bool = False) -> bytes:
    from ..search import capability as search_capability

    search = search_capability()
    resources = []
    for rtype in SERVED_TYPES:
        entry = {
            "type": rtype,
            "profile": f"http://hl7.org/fhir/StructureDefinition/{rtype}",
            "interaction": [{"code": code} for code in _TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "full-support",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
        }
        entry.update({k: v for k, v in search.get(rtype, {}).items() if v})
        resources.append(entry)
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-23",
        "publisher": "Samenzorg",
        "kind": "instance",
        "software": {"name": "Samenzorg", "version": __version__},
        "implementation": {"description": "Samenzorg FHIR gateway for informal-care networks",
                           "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "documentation": search.get("*", {}).get("documentation"),
            "security": {
                "cors": cors,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "description": "Bearer JWTs with SMART v2 scopes (v1 accepted); see "
                               ".well-known/smart-configuration. Informal carers see only what the "
                               "client's Consent permits.",
            },
            "resource": resources,
            "interaction": [{"code": c} for c in ("transaction", "batch", "history-system", "search-system")],
            "searchParam": search.get("*", {}).get("searchParam", []),
        }],
    }
    operations = _operations()
    for entry in resources:
        ops = operations.get(entry["type"])
        if ops:
            entry["operation"] = ops
    statement["rest"][0]["operation"] = operations.get(None, [])
    if not statement["rest"][0]["searchParam"]:
        del statement["rest"][0]["searchParam"]
    return orjson.dumps(statement)


SCOPES_SUPPORTED = ["system/*.cruds", "user/*.cruds", "patient/*.cruds", "user/*.rs", "patient/*.rs",
                    "patient/Communication.c", "fhirUser", "openid", "launch/patient"]


def smart_configuration(ctx: Context, req: FhirRequest) -> FhirResponse:
    """SMART App Launch discovery: how tokens for this server are made and checked."""
    s = ctx.settings
    config = {
        "capabilities": ["permission-v2", "permission-v1", "permission-patient", "permission-user",
                         "client-confidential-asymmetric", "context-standalone-patient"],
        "scopes_supported": SCOPES_SUPPORTED,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "grant_types_supported": ["client_credentials", "authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_signing_algorithms": ["RS256", "ES256"] if s.jwks_url else ["HS256"],
    }
    if s.jwt_issuer:
        config["issuer"] = s.jwt_issuer
    if s.jwks_url:
        config["jwks_uri"] = s.jwks_url
    return FhirResponse(200, orjson.dumps(config), {"Content-Type": "application/json"})


# Our own operations have no published OperationDefinition yet; the
# definition URLs name them under our canonical base.
_OP_BASE = "https://samenzorg.nl/fhir/OperationDefinition/"


def _operations() -> dict[str | None, list[dict]]:
    from .operations import DEFINITIONS, registered

    out: dict[str | None, list[dict]] = {}
    for _method, _level, rtype, name in registered():
        official = DEFINITIONS.get((rtype, name))
        entry = {"name": name, "definition": official or f"{_OP_BASE}{(rtype + '-') if rtype else ''}{name}"}
        if entry not in out.setdefault(rtype, []):
            out[rtype].append(entry)
    return out
