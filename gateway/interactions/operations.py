"""Extended operations ($name) at system, type and instance level, as a registry."""
from __future__ import annotations

from typing import Callable

from ..errors import NotFound
from ..fhirhttp import FhirRequest, FhirResponse
from . import Context

# (method, level, type or None, name) -> handler; level is system | type | instance.
OPERATIONS: dict[tuple[str, str, str | None, str], Callable[[Context, FhirRequest], FhirResponse]] = {}


def operation(method: str, level: str, name: str, resource_type: str | None = None):
    def register(handler):
        OPERATIONS[(method, level, resource_type, name)] = handler
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
    from . import consent_ops, network  # noqa: F401  (they register their operations)

    return sorted(OPERATIONS, key=lambda k: (k[3], k[1], k[2] or ""))
