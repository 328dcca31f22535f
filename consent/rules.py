"""From a Consent and a request to rules: (permit|deny, specificity, data condition).

Everything that depends only on the request (status, scope, patient, period
against now, actor, action, purpose) is settled here; what is left in each
rule's `data` depends only on the resource. `decide` and `compile_filter`
both work from these rules, which is why they agree.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .dates import within
from .expr import (TRUE, AuthoredBy, DataDateIn, Expr, HasCode, HasSecurity, IdIn,
                   ReferencedBy, References, TypeIn, all_of, any_of)
from .model import AccessRequest, Coding
from .provisions import CRITERIA, OPT_OUT, NotUnderstood, Provision, parse_consent, read_header

# Above any real provision: a Consent we cannot read, or a blanket opt-out, must win.
TOP = (1_000_000, 0)

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# FHIR: a confidentiality label in a provision covers that level "or lower".
_CONFIDENTIALITY_ORDER = ("U", "L", "M", "N", "R", "V")


@dataclass(frozen=True)
class Rule:
    consent: str
    path: str | None
    type: str                       # "permit" | "deny"
    specificity: tuple[int, int]    # (depth, criteria set on the path)
    data: Expr                      # what the resource must satisfy
    why: str


@dataclass(frozen=True)
class Reading:
    """What one Consent means for one request."""
    consent: str
    rules: tuple[Rule, ...]
    note: str
    not_understood: tuple[str, ...] = ()  # what was not understood and how it was read


def read_for(consent: object, request: AccessRequest) -> Reading:
    try:
        header = read_header(consent)
    except NotUnderstood:
        return Reading("(not a Consent)", (), "an input that is not a Consent was ignored")
    ref = header.ref
    if header.status != "active":
        return Reading(ref, (), f"{ref} grants nothing: status is {header.status!r}, not 'active'")
    if not header.privacy_scope:
        return Reading(ref, (), f"{ref} grants nothing: its scope is not patient-privacy")
    if header.patient != request.patient:
        return Reading(ref, (), f"{ref} does not apply: it is for {header.patient}, not {request.patient}")
    try:
        parsed = parse_consent(consent, header)  # type: ignore[arg-type]
    except NotUnderstood as exc:
        why = f"not understood at {exc.where}: {exc.why}"
        how = f"{ref} is {why}; it denies every request for this patient until corrected"
        return Reading(ref, (Rule(ref, exc.where, "deny", TOP, TRUE, why),), how, (how,))
    if parsed.root is None:
        if parsed.policy & OPT_OUT:
            why = "opt-out policy without provisions: nobody may see anything"
            return Reading(ref, (Rule(ref, None, "deny", TOP, TRUE, why),), f"{ref}: {why}")
        return Reading(ref, (), f"{ref} grants nothing: it has no provision, and an opt-in "
                                "without provisions names nobody")
    rules = tuple(_walk(ref, parsed.root, (), request))
    unknown = tuple(_how_read(ref, parsed.root))
    if rules:
        paths = ", ".join(f"{r.path} ({r.type})" for r in rules)
        return Reading(ref, rules, f"{ref} applies to this request through {paths}", unknown)
    return Reading(ref, (), f"{ref} has no provision for {request.actor} doing "
                            f"{request.action[1]} at {request.now.isoformat()}", unknown)


def _how_read(ref: str, node: Provision) -> Iterator[str]:
    """One line per part of the tree that is not understood, saying how it is read."""
    for u in node.unknown:
        if node.type == "permit":
            how = "this permit grants nothing, nor do the permits under it"
        elif u.kind == "type":
            how = "it is read as a deny; the permits under it grant nothing"
        else:
            as_if = f"its {u.kind} matched" if u.kind in CRITERIA else f"{u.kind} were not there"
            how = (f"this deny applies as if {as_if}; the permits under it grant nothing "
                   "(the denies under it still apply)")
        yield f"{ref} {u.where} not understood ({u.why}): {how}"
    for child in node.children:
        yield from _how_read(ref, child)


def _walk(ref: str, node: Provision, ancestors: tuple[Provision, ...],
          request: AccessRequest) -> Iterator[Rule]:
    path = (*ancestors, node)
    mode = node.type
    # A permit grants nothing when any part of it, or of a provision it sits in,
    # is not understood; a deny reads what it does not understand as matching
    # (the Unknown criteria are skipped below). A permit must also name who it
    # grants to (here or in an ancestor): "anyone" is never what a client means
    # for their informal network.
    grants = not any(n.unknown for n in path) and any("actor" in n.criteria for n in path)
    if (mode == "deny" or grants) and all(_request_matches(n, mode, request) for n in path):
        criteria = frozenset().union(*(n.criteria for n in path))
        yield Rule(ref, node.path, mode, (len(ancestors), len(criteria)),
                   all_of(*(_data_condition(n, mode) for n in path)), describe(node))
    for child in node.children:
        yield from _walk(ref, child, path, request)


def _request_matches(node: Provision, mode: str, request: AccessRequest) -> bool:
    if node.period is not None and not within(request.now, node.period):
        return False
    if node.understood("actor") and not any(
            a.reference == request.actor if a.reference is not None else a.roles & request.actor_roles
            for a in node.actors):
        return False
    if node.understood("action") and request.action not in node.actions:
        return False
    if node.understood("purpose"):
        # An unstated purpose: permits cannot rely on it, denies still cover it.
        if request.purpose is None:
            return mode == "deny"
        return request.purpose in node.purposes
    return True


def _security(label: Coding) -> Expr:
    system, code = label
    if system == CONFIDENTIALITY and code in _CONFIDENTIALITY_ORDER:
        upto = _CONFIDENTIALITY_ORDER[:_CONFIDENTIALITY_ORDER.index(code) + 1]
        return any_of(*(HasSecurity(system, c) for c in upto))
    return HasSecurity(system, code)


def _data_item(meaning: str, ref: str, mode: str) -> Expr:
    if meaning == "instance":
        return IdIn(frozenset({ref}))
    if meaning == "related":      # the instance and what it refers to
        return any_of(IdIn(frozenset({ref})), ReferencedBy(ref, if_unknown=mode == "deny"))
    if meaning == "dependents":   # the instance and what refers to it
        return any_of(IdIn(frozenset({ref})), References(ref))
    return AuthoredBy(ref)


def _data_condition(node: Provision, mode: str) -> Expr:
    parts: list[Expr] = []
    if node.understood("class"):
        parts.append(TypeIn(node.classes))
    if node.understood("code"):
        parts.append(any_of(*(HasCode(s, c) for s, c in sorted(node.codes))))
    if node.understood("securityLabel"):
        parts.append(any_of(*(_security(label) for label in sorted(node.security))))
    if node.data_period is not None:
        # Permits cover only what surely lies inside; denies anything that may.
        parts.append(DataDateIn(node.data_period.start, node.data_period.end, strict=mode == "permit"))
    if node.understood("data"):
        parts.append(any_of(*(_data_item(m, r, mode) for m, r in sorted(node.data))))
    return all_of(*parts) if parts else TRUE


def _codes(codings) -> str:
    return " or ".join(f"{s}|{c}" for s, c in sorted(codings))


def describe(node: Provision) -> str:
    """One line for people: what this provision says on its own."""
    bits = [node.type]
    if node.unknown:
        bits.append("not understood: " + ", ".join(sorted({u.kind for u in node.unknown})))
    if not node.criteria:
        bits.append("with no criteria of its own")
    if node.actors:
        bits.append("for " + " or ".join(a.reference or f"anyone with role {_codes(a.roles)}"
                                         for a in node.actors))
    if node.understood("action"):
        bits.append("action " + " or ".join(c for _, c in sorted(node.actions)))
    if node.understood("purpose"):
        bits.append("purpose " + _codes(node.purposes))
    if node.understood("class"):
        bits.append("class " + " or ".join(sorted(node.classes)))
    if node.understood("code"):
        bits.append("code " + _codes(node.codes))
    if node.understood("securityLabel"):
        bits.append("security label " + _codes(node.security))
    for name, rng in (("period", node.period), ("data period", node.data_period)):
        if rng is not None:
            start = rng.start.isoformat() if rng.start else "…"
            end = rng.end.isoformat() if rng.end else "…"
            bits.append(f"{name} [{start}, {end})")
    if node.data:
        bits.append("data " + ", ".join(f"{m} {r}" for m, r in node.data))
    return ", ".join(bits)

