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


_SUBSCRIPTION_DOC = (
    "Channel type rest-hook only; payload absent (an empty POST) or application/fhir+json (a history Bundle "
    "naming what changed, never its content). A Subscription is its creator's alone and notifies only about "
    "what its owner may see at the time of the write (the client's Consent included). Endpoint: https, or "
    "http to loopback. Status: requested until a handshake POST succeeds, then active; error after repeated "
    "failures (active again when a delivery works); off by the owner.")


def metadata(ctx: Context, req: FhirRequest) -> FhirResponse:
    from ..oauth.urls import endpoint

    oauth = tuple(endpoint(ctx.settings, name) for name in _OAUTH_URIS)
    return FhirResponse(200, _statement(ctx.base_url, bool(ctx.settings.cors_origins), oauth))


# The SMART oauth-uris extension's parts, in order, and the /oauth endpoint serving each.
_OAUTH_URIS = {"authorize": "authorize", "token": "token", "revoke": "revoke", "introspect": "introspect",
               "manage": "apps"}
_OAUTH_URIS_EXT = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@lru_cache(maxsize=8)
def _statement(base_url: str, cors: bool = False, oauth: tuple[str, ...] = ()) -> bytes:
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
        if rtype == "Subscription":
            entry["documentation"] = _SUBSCRIPTION_DOC
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
                "extension": [{"url": _OAUTH_URIS_EXT, "extension": [
                    {"url": part, "valueUri": uri} for part, uri in zip(_OAUTH_URIS, oauth)]}] if oauth else [],
                "cors": cors,
                "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                         "code": "SMART-on-FHIR"}]}],
                "description": "SMART App Launch 2.0: this server's own authorization server (see "
                               ".well-known/smart-configuration), or bearer JWTs of a configured identity "
                               "provider; SMART v2 scopes (v1 accepted). Informal carers see only what the "
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


def smart_configuration(ctx: Context, req: FhirRequest) -> FhirResponse:
    """SMART App Launch discovery, the same document as at the server's root."""
    from ..oauth.discovery import smart_configuration as document

    return FhirResponse(200, orjson.dumps(document(ctx.settings)), {"Content-Type": "application/json"})


def openid_configuration(ctx: Context, req: FhirRequest) -> FhirResponse:
    """OpenID Connect discovery under the issuer (the FHIR base), where OIDC clients look for it."""
    from ..oauth.discovery import openid_configuration as document

    return FhirResponse(200, orjson.dumps(document(ctx.settings)), {"Content-Type": "application/json"})


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
