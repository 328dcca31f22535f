"""The consent decision as one expression over resource facts, for SQL.

A resource is permitted iff some applicable permit rule p matches it and no
applicable deny rule q with specificity(q) >= specificity(p) matches it.
That is exactly when `decide` permits (its winner is the most specific
matching rule, deny on ties), so both agree by construction; the property
tests check it.
"""
from __future__ import annotations

from collections.abc import Iterable

from .engine import readings
from .expr import FALSE, TRUE, Expr, all_of, any_of, negate
from .model import AccessRequest, Verdict
from .rules import Reading


def compile_filter(consents: Iterable[dict], request: AccessRequest) -> Expr:
    return filter_of(readings(consents, request))


def filter_of(read: Iterable[Reading]) -> Expr:
    """The filter from readings already made for one request (see `compile_filter`)."""
    rules = sorted((rule for r in read for rule in r.rules),
                   key=lambda rule: (rule.consent, rule.path or ""))
    denies = [r for r in rules if r.type == "deny"]
    return any_of(*(
        all_of(p.data, negate(any_of(*(q.data for q in denies if q.specificity >= p.specificity))))
        for p in rules if p.type == "permit"))


def start_operation(consents: Iterable[dict], request: AccessRequest) -> Verdict:
    """Before touching data: REJECT when nothing can be permitted, AUTHORIZED
    when everything is, else PROCEED and check each resource."""
    expr = compile_filter(consents, request)
    if expr == FALSE:
        return Verdict.REJECT
    if expr == TRUE:
        return Verdict.AUTHORIZED
    return Verdict.PROCEED
