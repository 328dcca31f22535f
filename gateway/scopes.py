"""SMART App Launch scopes (v2, with v1 accepted): what a token lets an app do.

Scopes narrow what a role may do; they never widen it past consent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# v2: context/Type.cruds ; v1: context/Type.read|write|*
_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(\*|read|write|c?r?u?d?s?)")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}

CREATE, READ, UPDATE, DELETE, SEARCH = "c", "r", "u", "d", "s"


@dataclass(frozen=True)
class Scope:
    context: str  # patient | user | system
    resource_type: str  # a type or "*"
    permissions: frozenset[str]

    def grants(self, permission: str, resource_type: str) -> bool:
        return permission in self.permissions and self.resource_type in ("*", resource_type)


def parse_scopes(text: str | None) -> tuple[Scope, ...]:
    """Resource scopes in a space-separated scope string; others (openid, launch…) are skipped.

    A v2 scope with a query (`patient/Observation.rs?category=…`) restricts
    by search criteria this gateway does not enforce, so it grants nothing
    rather than more than it says.
    """
    out = []
    for token in (text or "").split():
        m = _SCOPE.fullmatch(token)
        if not m or not m.group(3):
            continue
        context, rtype, perms = m.groups()
        out.append(Scope(context, rtype, frozenset(_V1.get(perms, perms))))
    return tuple(out)


def contexts(scopes: tuple[Scope, ...]) -> set[str]:
    return {s.context for s in scopes}


def granted(scopes: tuple[Scope, ...], permission: str, resource_type: str) -> bool:
    return any(s.grants(permission, resource_type) for s in scopes)
