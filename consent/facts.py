"""What consent criteria test about a resource, pulled out of its JSON.

The gateway stores these facts in index tables so that the compiled consent
filter runs in SQL; keep this extraction and the README table in step.
"""
from __future__ import annotations

from collections.abc import Iterator

from .dates import lenient_period, lenient_range
from .model import DateRange, ResourceFacts, normalize_coding, normalize_ref


def _items(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _codings_of(concepts: object) -> Iterator[tuple[str, str]]:
    """Codings of CodeableConcept(s); codings without system or code cannot be matched."""
    for concept in _items(concepts):
        if not isinstance(concept, dict):
            continue
        for coding in _items(concept.get("coding")):
            if isinstance(coding, dict):
                system, code = coding.get("system"), coding.get("code")
                if isinstance(system, str) and isinstance(code, str):
                    yield normalize_coding(system, code)


def _refs_of(references: object) -> Iterator[str]:
    for ref in _items(references):
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            yield normalize_ref(ref["reference"])


def _all_references(node: object) -> Iterator[str]:
    """Every Reference.reference anywhere in the resource, contained ones skipped
    (a `#id` points inside the resource, not at another record)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                if not value.startswith("#"):
                    yield normalize_ref(value)
            elif key != "contained":
                yield from _all_references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_references(value)


def _activity_codes(res: dict) -> Iterator[tuple[str, str]]:
    for activity in _items(res.get("activity")):
        if isinstance(activity, dict) and isinstance(activity.get("detail"), dict):
            yield from _codings_of(activity["detail"].get("code"))


# Per type: which elements are the resource's "code" for Consent.provision.code.
_CODES = {
    "CarePlan": lambda r: [*_codings_of(r.get("category")), *_activity_codes(r)],
    "Communication": lambda r: [*_codings_of(r.get("category")), *_codings_of(r.get("topic"))],
    "Goal": lambda r: [*_codings_of(r.get("category")), *_codings_of(r.get("description"))],
    "CareTeam": lambda r: list(_codings_of(r.get("category"))),
    "Consent": lambda r: list(_codings_of(r.get("category"))),
}

# Per type: the clinically relevant date for Consent.provision.dataPeriod.
_DATES = {
    "Communication": lambda r: lenient_range(r.get("sent")),
    "CarePlan": lambda r: lenient_period(r.get("period")),
    "Goal": lambda r: lenient_range(r.get("startDate")),
    "CareTeam": lambda r: lenient_period(r.get("period")),
    "Consent": lambda r: lenient_range(r.get("dateTime")),
}

# Per type: who wrote it, for data.meaning = authoredby.
_AUTHORS = {
    "Communication": lambda r: [*_refs_of(r.get("sender"))],
    "CarePlan": lambda r: [*_refs_of(r.get("author")), *_refs_of(r.get("contributor"))],
    "Goal": lambda r: [*_refs_of(r.get("expressedBy"))],
    "Consent": lambda r: [*_refs_of(r.get("performer"))],
}


def facts_of(resource: dict, *, referenced_by: frozenset[str] | None = None) -> ResourceFacts:
    """Pure extraction; never raises on odd JSON (odd parts simply yield no facts).

    Pass `referenced_by` (references of resources pointing at this one) when
    known; left None it is unknown, see README "Unknowns"."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        raise ValueError("resource has no resourceType")
    rid = resource.get("id")
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    security = set()
    for label in _items(meta.get("security")):
        if isinstance(label, dict) and isinstance(label.get("system"), str) \
                and isinstance(label.get("code"), str):
            security.add(normalize_coding(label["system"], label["code"]))
    date: DateRange | None = _DATES[rtype](resource) if rtype in _DATES else None
    return ResourceFacts(
        type=rtype,
        id=f"{rtype}/{rid}" if isinstance(rid, str) and rid else None,
        security=frozenset(security),
        codes=frozenset(_CODES[rtype](resource)) if rtype in _CODES else frozenset(),
        data_date=date,
        authors=frozenset(_AUTHORS[rtype](resource)) if rtype in _AUTHORS else frozenset(),
        references=frozenset(_all_references(resource)),
        referenced_by=referenced_by,
    )
