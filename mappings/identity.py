"""Identifier systems for the ECD's own ids, and the deterministic keys derived
from identifiers (fullUrl and conditional-update URL).

Each kind of thing gets its own system under the ECD's base
(`<base>/client`, `<base>/member`, ...) so that an id reused by the ECD for
two kinds of thing never makes two resources collide.
"""
from __future__ import annotations

import uuid

KINDS = ("network", "client", "member", "practitioner", "organization", "agreement", "goal", "logbook", "sharing")


def system(base: str, kind: str) -> str:
    assert kind in KINDS, kind
    return f"{base}/{kind}"


def identifier(base: str, kind: str, value: str) -> dict:
    return {"system": system(base, kind), "value": value}


def full_url(ident: dict) -> str:
    """The same identifier always gives the same urn:uuid, so bundles are reproducible."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, ident['system'] + '|' + ident['value'])}"


def conditional_url(resource_type: str, ident: dict) -> str:
    # Systems and values are validated free of '|', '?', '&', '#' and spaces, so no escaping is needed.
    return f"{resource_type}?identifier={ident['system']}|{ident['value']}"


def value_of(resource: dict, sys: str) -> str | None:
    for ident in resource.get("identifier") or []:
        if ident.get("system") == sys and ident.get("value"):
            return ident["value"]
    return None
