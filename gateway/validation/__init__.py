"""Validation on write: the only place a resource is checked, and run through fhir.resources.

A write is FHIR R4 4.0.1 exactly: the R4 guard (`r4_guard`) walks the JSON
against tables generated from the official R4 definitions (elements, arrays,
required elements, primitive rules, required bindings, narrative, contained
resources); then the `fhir.resources` R4B models check the structure where R4
and R4B agree. Reads never come here; they serve the bytes this module approved.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ..errors import BadRequest, FhirError, Invalid, Issue
from ..limits import check_depth
from ..resource_types import SERVED, valid_id
from . import r4_guard


def parse_json(raw: bytes) -> object:
    if not raw or not raw.strip():
        raise BadRequest("The request body is empty; a FHIR JSON resource was expected.")
    try:
        value = check_depth(orjson.loads(raw))
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    # orjson keeps the last of two equal keys; FHIR JSON has each property once (json.html), and
    # silently dropping one would store something other than what the client sent.
    try:
        json.loads(raw, object_pairs_hook=_unique_keys)
    except ValueError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> None:
    """Only checks: the value itself comes from orjson, so no second tree is built here."""
    if len({k for k, _ in pairs}) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise BadRequest(f"The property '{twice[:64]}' appears twice in one JSON object.")


@lru_cache(maxsize=None)
def _model(resource_type: str):
    return get_fhir_model_class(resource_type)


def _path(resource_type: str, loc: tuple) -> str:
    out = resource_type
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("__root__",):
            out += f".{part}"
    return out


# Bodies of this request found valid before its database transaction began (SQLite's one write lock
# is taken at BEGIN, so the costly checks ran while other writers waited): id -> the body itself.
_valid_ahead: ContextVar[dict[int, dict] | None] = ContextVar("valid_ahead", default=None)


@contextmanager
def checked_ahead(bodies: list):
    """Run the costly checks of these parsed bodies now; within, `validate_resource` skips them for
    each body that passed (and still checks what depends on the URL). One that fails is only
    reported later, by the handler, in the order the request's own steps find it."""
    if not bodies:  # a read: nothing to check, nothing to remember
        yield
        return
    passed = {}
    for body in bodies:
        try:
            validate_resource(body)
        except FhirError:
            continue
        passed[id(body)] = body
    token = _valid_ahead.set(passed)
    try:
        yield
    finally:
        _valid_ahead.reset(token)


def same_validity(original: object, copy: dict) -> dict:
    """`copy` (the body with an id set or references rewritten to Type/id) is valid if `original` was."""
    passed = _valid_ahead.get()
    if passed is not None and passed.get(id(original)) is original:
        passed[id(copy)] = copy
    return copy


def validate_resource(body: object, *, expected_type: str | None = None,
                      expected_id: str | None = None, require_id: bool = False) -> dict:
    """Check a parsed body is a valid resource of a served type; return it as a dict.

    Raises BadRequest for what is not a resource at all or disagrees with the
    URL, Invalid (422) for a resource that does not conform, each issue naming
    the element in `expression`.
    """
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object holding a FHIR resource.")
    rtype = body.get("resourceType")
    if not isinstance(rtype, str):
        raise BadRequest("The resource has no resourceType.", expression="resourceType")
    if expected_type and rtype != expected_type:
        raise BadRequest(f"resourceType '{rtype}' does not match the URL's type '{expected_type}'.",
                         expression="resourceType")
    if rtype not in SERVED:
        raise BadRequest(f"Resource type '{rtype}' is not served here.", expression="resourceType")
    rid = body.get("id")
    if rid is not None and (not isinstance(rid, str) or not valid_id(rid)):
        raise BadRequest("The resource id is not a valid FHIR id.", expression=f"{rtype}.id")
    if expected_id is not None and rid != expected_id:
        if rid is None:
            raise BadRequest("The resource in an update must carry the id given in the URL.",
                             expression=f"{rtype}.id")
        raise BadRequest(f"The resource id '{rid}' does not match the URL's id '{expected_id}'.",
                         expression=f"{rtype}.id")
    if require_id and rid is None:
        raise BadRequest("The resource must carry an id.", expression=f"{rtype}.id")
    passed = _valid_ahead.get()
    if passed is not None and passed.get(id(body)) is body:
        return body

    try:
        issues = r4_guard.check(body)
    except RecursionError:
        raise BadRequest("The resource is nested too deeply.", expression=rtype) from None
    if issues:
        raise Invalid(f"{rtype} is not valid FHIR R4 (4.0.1): {issues[0].diagnostics}", issues=issues)
    try:
        _model(rtype).model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            # Which elements exist is R4's to say (the guard passed them); R4B lacks e.g. valueMeta.
            if err["type"] != "extra_forbidden":
                issues.append(Issue("error", _issue_code(err["type"]), err["msg"], (_path(rtype, err["loc"]),)))
    except (ValueError, TypeError) as exc:  # a model-level check outside pydantic's error list
        issues.append(Issue("error", "invalid", str(exc), (rtype,)))
    if issues:
        raise Invalid(f"{rtype} failed validation: {issues[0].diagnostics}", issues=issues)
    return body


def _issue_code(pydantic_type: str) -> str:
    if "missing" in pydantic_type:
        return "required"
    return "value"
