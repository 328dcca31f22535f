"""R4 invariants of severity *error* that the generated tables do not carry, for the served types
and their datatypes: each keyed and worded as in the R4 definitions, its FHIRPath written out
here as a small function of the JSON object (None when it holds, else the reason).

Only invariants a resource can break on its own are here; the tables and primitives cover the
structural ones (ele-1, ext-1, dom-2..dom-5 live in the walk).
"""
from __future__ import annotations

from consent.dates import parse_range


def _has(obj: dict, *names: str) -> bool:
    return any(n in obj or f"_{n}" in obj for n in names)


def _has_choice(obj: dict, base: str) -> bool:
    return any(k.startswith(base) and k[len(base):][:1].isupper() for k in obj)


def _per_1(period: dict) -> str | None:
    start, end = period.get("start"), period.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    try:  # a partial date covers a range: only a start wholly after the end breaks the rule
        if parse_range(start)[0] >= parse_range(end)[1]:
            return "per-1: if present, start SHALL have a lower value than end"
    except (ValueError, OverflowError):
        return None  # the primitive check reports a malformed dateTime; the calendar's ends compare as equal
    return None


INVARIANTS = {
    "Period": _per_1,
    "ContactPoint": lambda o: None if not _has(o, "value") or _has(o, "system")
    else "cpt-2: a system is required if a value is provided",
    "Attachment": lambda o: None if not _has(o, "data") or _has(o, "contentType")
    else "att-1: if the Attachment has data, it SHALL have a contentType",
    "Patient.contact": lambda o: None if _has(o, "name", "telecom", "address", "organization")
    else "pat-1: SHALL at least contain a contact's details or a reference to an organization",
    "Goal.target": lambda o: None if not _has_choice(o, "detail") or _has(o, "measure")
    else "gol-1: Goal.target.measure is required if Goal.target.detail is populated",
    "Consent": lambda o: None if _has(o, "policy", "policyRule")
    else "ppc-1: either a policy or a policyRule",
    "Expression": lambda o: None if _has(o, "expression", "reference")
    else "exp-1: an expression or a reference must be provided",
}


def problem(key: str, obj: dict) -> str | None:
    check = INVARIANTS.get(key)
    return check(obj) if check is not None else None
