"""The route table, as data: (method, pattern) -> handler and the FHIR interaction it serves.

The same table routes HTTP requests and batch/transaction entries. Paths
are relative to the FHIR base. `{type}` matches served types only (an
unknown type is a 404, not a 405).
"""
from __future__ import annotations

import re
from typing import Callable

from .errors import MethodNotAllowed, NotFound
from .interactions import (bundle, capability, consent_ops, crud, everything, history, network,  # noqa: F401
                           operations, search)
from .resource_types import SERVED

_SEG = r"[A-Za-z0-9\-.]{1,64}"
_OP = r"[A-Za-z][A-Za-z0-9\-]*"
_PATTERNS = {
    "": r"",
    "metadata": r"metadata",
    ".well-known/smart-configuration": r"\.well-known/smart-configuration",
    ".well-known/openid-configuration": r"\.well-known/openid-configuration",
    "_history": r"_history",
    "{type}": r"(?P<type>[A-Za-z]+)",
    "{type}/_search": r"(?P<type>[A-Za-z]+)/_search",
    "{type}/_history": r"(?P<type>[A-Za-z]+)/_history",
    "{type}/{id}": rf"(?P<type>[A-Za-z]+)/(?P<id>{_SEG})",
    "{type}/{id}/_history": rf"(?P<type>[A-Za-z]+)/(?P<id>{_SEG})/_history",
    "{type}/{id}/_history/{vid}": rf"(?P<type>[A-Za-z]+)/(?P<id>{_SEG})/_history/(?P<vid>{_SEG})",
    "${op}": rf"\$(?P<op>{_OP})",
    "{type}/${op}": rf"(?P<type>[A-Za-z]+)/\$(?P<op>{_OP})",
    "{type}/{id}/${op}": rf"(?P<type>[A-Za-z]+)/(?P<id>{_SEG})/\$(?P<op>{_OP})",
}

# (method, pattern, handler, FHIR restful-interaction). A conditional update or delete is the
# same path as a search, told apart by its method. The interaction names what audit records.
ROUTES: list[tuple[str, str, Callable, str]] = [
    ("GET", "metadata", capability.metadata, "capabilities"),
    ("GET", ".well-known/smart-configuration", capability.smart_configuration, "capabilities"),
    ("GET", ".well-known/openid-configuration", capability.openid_configuration, "capabilities"),
    ("GET", "", search.system_search, "search-system"),
    ("POST", "", bundle.process, "transaction"),
    ("GET", "_history", history.system_history, "history-system"),
    ("GET", "{type}", search.type_search, "search-type"),
    ("POST", "{type}/_search", search.type_search, "search-type"),
    ("POST", "{type}", crud.create, "create"),
    ("PUT", "{type}", crud.conditional_update, "update"),
    ("PATCH", "{type}", crud.conditional_patch, "patch"),
    ("DELETE", "{type}", crud.conditional_delete, "delete"),
    ("GET", "{type}/_history", history.type_history, "history-type"),
    ("GET", "{type}/{id}", crud.read, "read"),
    ("PUT", "{type}/{id}", crud.update, "update"),
    ("PATCH", "{type}/{id}", crud.patch, "patch"),
    ("DELETE", "{type}/{id}", crud.delete, "delete"),
    ("GET", "{type}/{id}/_history", history.instance_history, "history-instance"),
    ("GET", "{type}/{id}/_history/{vid}", crud.vread, "vread"),
    *[(m, p, operations.dispatch, "operation") for p in ("${op}", "{type}/${op}", "{type}/{id}/${op}")
      for m in ("GET", "POST")],
]

# Answered without a token (DESIGN.md: metadata and the SMART configuration; the OIDC one too).
PUBLIC_PATHS = frozenset({"metadata", ".well-known/smart-configuration", ".well-known/openid-configuration"})

_COMPILED = [(m, re.compile(_PATTERNS[p]), h, i) for m, p, h, i in ROUTES]
# HEAD is answered like GET, without the body (Flask strips it).
_ALIASES = {"HEAD": "GET"}


def resolve(method: str, path: str) -> tuple[Callable, dict[str, str], str]:
    """(handler, path parameters, interaction) for a request; 404 or 405 when there is none."""
    method = _ALIASES.get(method, method)
    allowed: set[str] = set()
    unknown_type = None
    for m, regex, handler, interaction in _COMPILED:
        match = regex.fullmatch(path)
        if not match:
            continue
        params = match.groupdict()
        rtype = params.get("type")
        if rtype is not None and rtype not in SERVED:
            unknown_type = rtype
            continue
        if m == method:
            return handler, params, interaction
        allowed.add(m)
    if allowed:
        listed = ", ".join(sorted(allowed))
        raise MethodNotAllowed(f"{method} is not allowed on /{path}; allowed: {listed}.",
                               headers={"Allow": listed})
    if unknown_type:
        raise NotFound(f"Resource type '{unknown_type}' is not served here.")
    raise NotFound(f"There is nothing at /{path}.")


def dispatch(ctx, req, route=None):
    """Serve one request (or one bundle entry) through the table: the handler runs with the
    repository told which interaction it serves. Bundles reach this as `ctx.dispatch`."""
    handler, params, interaction = route or resolve(req.method, req.path)
    req.params = {**params, **req.params}
    previous, ctx.repo.interaction = ctx.repo.interaction, interaction
    try:
        return handler(ctx, req)
    finally:
        ctx.repo.interaction = previous
