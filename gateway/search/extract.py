"""index_rows(resource): the search-index rows for one resource version.

Pure: JSON in, rows out. The repository writes them in the same transaction
as the resource, so a search never sees a half-indexed write. Values are
found by walking the registry's paths; how a value becomes a row depends on
the parameter's type and on the shape of the value (Coding, Identifier,
HumanName, Period, ...), the way FHIR's search page maps data types to
search types.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Iterator

from .registry import REGISTRY, SearchParam
from .values import ID_MAX, URI_MAX, clip, date_range, normalise, split_reference

# A step may filter on a field: "telecom[system=email]" is FHIRPath's
# telecom.where(system='email'); "provision*" is repeat(provision): that
# element at every level of nesting.
_STEP = re.compile(r"(?P<name>[A-Za-z]+)(?P<repeat>\*)?(?:\[(?P<field>[A-Za-z]+)=(?P<value>[^\]]*)\])?")


def walk(node: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted path, arrays flattened at each step."""
    yield from _walk(node, _steps(path))


@functools.lru_cache(maxsize=1024)  # paths come from the registry (and its callers): a bounded set
def _steps(path: str) -> tuple:
    """A path parsed once: parsing it on every walk was a fifth of extracting a resource's rows."""
    steps = []
    for raw in path.split("."):
        m = _STEP.fullmatch(raw)
        if m is None:
            raise ValueError(f"bad registry path {path!r}")
        steps.append((m["name"], (m["field"], m["value"]) if m["field"] else None, bool(m["repeat"])))
    return tuple(steps)


def _children(item, name: str) -> list:
    if not isinstance(item, dict) or name not in item:
        return []
    value = item[name]
    return value if isinstance(value, list) else [value]


def _repeat(item, name: str) -> list:
    """`name`, `name.name`, ... to any depth (a loop, not recursion: nesting is the client's)."""
    out, frontier = [], [item]
    while frontier:
        frontier = [v for node in frontier for v in _children(node, name)]
        out += frontier
    return out


def _walk(node, steps):
    if not steps:
        if isinstance(node, list):
            yield from (v for v in node if v is not None)
        elif node is not None:
            yield node
        return
    (name, cond, repeat), rest = steps[0], steps[1:]
    for item in node if isinstance(node, list) else [node]:
        for v in _repeat(item, name) if repeat else _children(item, name):
            if cond is not None and (not isinstance(v, dict) or v.get(cond[0]) != cond[1]):
                continue
            yield from _walk(v, rest)


def index_rows(resource: dict) -> dict[str, list[dict]]:
    """Rows per index table ("token", "string", "reference", "date", "uri").

    Each row has "param" and that table's value columns; the caller adds rid
    and res_type. Unknown types give empty lists. Duplicates are dropped so a
    value repeated in the resource is one row.
    """
    out: dict[str, list[dict]] = {"token": [], "string": [], "reference": [], "date": [], "uri": []}
    params = REGISTRY.get(resource.get("resourceType"), {})
    for param in params.values():
        if param.column is None:  # _id and _lastUpdated live on the resources row itself
            out[param.type] += param_rows(resource, param)
    return out


def param_rows(resource: dict, param: SearchParam) -> list[dict]:
    """The rows of one search parameter (what `index_rows` holds for it), e.g. only the references
    that put a version in a patient compartment, without extracting every other parameter."""
    out, seen = [], set()
    for path in param.paths:
        for value in walk(resource, path):
            for row in _ROWS[param.type](param, value):
                key = tuple(sorted(row.items(), key=lambda kv: kv[0]))
                if key not in seen:
                    seen.add(key)
                    out.append({"param": param.name, **row})
    return out


def _token_rows(param: SearchParam, value) -> Iterator[dict]:
    if isinstance(value, bool):
        yield _token(None, "true" if value else "false", None)
    elif isinstance(value, (str, int, float)):
        yield _token(None, str(value), None)
    elif isinstance(value, dict):
        if param.kind == "ContactPoint":
            if value.get("value"):
                yield _token(value.get("system"), value["value"], None)
        elif "coding" in value or ("text" in value and "value" not in value and "code" not in value):
            # CodeableConcept: one row per coding (with its display), and one
            # for the concept's text, so :text finds either.
            for coding in value.get("coding") or []:
                if isinstance(coding, dict):
                    yield _token(coding.get("system"), coding.get("code"), coding.get("display"))
            if value.get("text"):
                yield _token(None, None, value["text"])
        elif "code" in value or ("system" in value and "value" not in value):
            yield _token(value.get("system"), value.get("code"), value.get("display"))  # Coding
        elif "value" in value:  # Identifier; its type's text is what :text searches
            id_type = value.get("type")
            yield _token(value.get("system"), value.get("value"),
                         id_type.get("text") if isinstance(id_type, dict) else None)


def _token(system, code, text) -> dict:
    return {
        "system": clip(system),
        "code": clip(str(code)) if code is not None else None,
        "text": normalise(text) if isinstance(text, str) and text else None,
    }


_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
_ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


def _string_rows(param: SearchParam, value) -> Iterator[dict]:
    if isinstance(value, str):
        if value.strip():
            yield {"value_norm": normalise(value), "value_exact": value}
        return
    if isinstance(value, dict):
        # HumanName and Address: every part is searchable on its own, as in
        # HAPI and the spec's "any of the string fields".
        parts = _ADDRESS_PARTS if any(k in value for k in _ADDRESS_PARTS[:-1]) else _NAME_PARTS
        for part in parts:
            for text in walk(value, part):
                if isinstance(text, str):
                    yield from _string_rows(param, text)


def _reference_rows(param: SearchParam, value) -> Iterator[dict]:
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return
    rtype, rid, url = split_reference(value["reference"])
    if rtype is None and url is None:
        return  # a contained reference ("#x"): not searchable across resources
    if rtype is not None and rtype not in param.targets:
        # e.g. `patient` is subject.where(resolve() is Patient): a Group
        # subject is not a patient.
        return
    # A url without a recognisable type (urn:uuid:, a logical URI) is kept:
    # it can only be matched by its exact url.
    yield {"target_type": clip(rtype, ID_MAX), "target_id": clip(rid, ID_MAX), "target_url": url}


def _date_rows(param: SearchParam, value) -> Iterator[dict]:
    if isinstance(value, str):
        rng = date_range(value)
        if rng is not None:
            yield {"low": rng[0], "high": rng[1]}
    elif isinstance(value, dict):
        if "start" in value or "end" in value:  # Period: open ends are unbounded
            start = date_range(value["start"]) if "start" in value else (None, None)
            end = date_range(value["end"]) if "end" in value else (None, None)
            if start is None or end is None:
                return
            yield {"low": start[0], "high": end[1]}
        else:  # Timing: each event, and the bounds of its repeat
            for event in value.get("event") or []:
                yield from _date_rows(param, event)
            bounds = (value.get("repeat") or {}).get("boundsPeriod")
            if isinstance(bounds, dict):
                yield from _date_rows(param, bounds)


def _uri_rows(param: SearchParam, value) -> Iterator[dict]:
    if isinstance(value, str) and value:
        yield {"uri": clip(value, URI_MAX)}


_ROWS = {
    "token": _token_rows,
    "string": _string_rows,
    "reference": _reference_rows,
    "date": _date_rows,
    "uri": _uri_rows,
}
