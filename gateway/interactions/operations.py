"""Extended operations ($name) at system, type and instance level, as a registry."""
from __future__ import annotations

from typing import Callable

from ..errors import NotFound
from ..fhirhttp import FhirRequest, FhirResponse
from . import Context

# (method, level, type or None, name) -> handler; level is system | type | instance.
OPERATIONS: dict[tuple[str, str, str | None, str], Callable[[Context, FhirRequest], FhirResponse]] = {}
# (type or None, name) -> the canonical URL of an official OperationDefinition the operation implements.
DEFINITIONS: dict[tuple[str | None, str], str] = {}


def operation(method: str, level: str, name: str, resource_type: str | None = None, definition: str | None = None):
    def register(handler):
        OPERATIONS[(method, level, resource_type, name)] = handler
        if definition:
            DEFINITIONS[(resource_type, name)] = definition
        return handler
    return register


def dispatch(ctx: Context, req: FhirRequest) -> FhirResponse:
    p = req.params
    level = "instance" if p.get("id") else "type" if p.get("type") else "system"
    method = "GET" if req.method in ("GET", "HEAD") else req.method
    handler = OPERATIONS.get((method, level, p.get("type"), p["op"]))
    if handler is None:
        raise NotFound(f"There is no operation ${p['op']} for {req.method} at {level} level here.")
    return handler(ctx, req)


def registered() -> list[tuple[str, str, str | None, str]]:
    from . import consent_ops, everything, network  # noqa: F401  (they register their operations)

    return sorted(OPERATIONS, key=lambda k: (k[3], k[1], k[2] or ""))
