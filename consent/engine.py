"""The per-resource verdict: which provision decides, and why."""
from __future__ import annotations

from collections.abc import Iterable

from .expr import evaluate
from .facts import facts_of
from .model import AccessRequest, Decision, ResourceFacts
from .rules import TOP, Reading, Rule, read_for


def readings(consents: Iterable[object], request: AccessRequest) -> list[Reading]:
    return [read_for(c, request) for c in consents]


def _order(rule: Rule) -> tuple[str, str]:
    # Ties are broken by name, never by input order, so the same consents in
    # any order give the same Decision, down to the provision it names.
    return rule.consent, rule.path or ""


def _specificity(rule: Rule) -> str:
    if rule.specificity >= TOP:
        return "overrides every provision"
    depth, count = rule.specificity
    return f"depth {depth}, {count} criteria"


def _decide(consents, request, resource) -> tuple[Decision, list[Rule]]:
    return _decide_read(readings(consents, request), request, resource)


def _decide_read(read: list[Reading], request, resource) -> tuple[Decision, list[Rule]]:
    facts = resource if isinstance(resource, ResourceFacts) else facts_of(resource)
    notes = tuple(sorted(r.note for r in read))
    unknown = tuple(sorted(line for r in read for line in r.not_understood))
    target = facts.id or facts.type
    matching = sorted((rule for r in read for rule in r.rules if evaluate(rule.data, facts)), key=_order)
    if not matching:
        reason = (f"deny: no applicable consent permits {request.actor} to "
                  f"{request.action[1]} {target}")
        return Decision("deny", reason, None, None, notes, unknown), []
    top = max(r.specificity for r in matching)
    best = [r for r in matching if r.specificity == top]
    denies = [r for r in best if r.type == "deny"]
    winner = (denies or best)[0]
    reason = (f"{winner.type}: {winner.consent} {winner.path or '(policy)'} decides for "
              f"{request.actor} to {request.action[1]} {target} — {winner.why} "
              f"({_specificity(winner)})")
    outvoted = len(best) - len(denies) if denies else 0
    if outvoted:
        reason += f"; deny wins over {outvoted} permit(s) of equal specificity"
    return Decision(winner.type, reason, winner.consent, winner.path, notes, unknown), matching


def decide(consents: Iterable[dict], request: AccessRequest,
           resource: dict | ResourceFacts) -> Decision:
    """Permit or deny `request` on one resource. No applicable consent: deny."""
    return _decide(list(consents), request, resource)[0]


def decide_read(read: list[Reading], request: AccessRequest, resource: dict | ResourceFacts) -> Decision:
    """`decide` from readings made for this request already (`readings(consents, request)`), so a
    caller deciding many resources, or keeping readings while the Consents are unchanged, reads
    each Consent once."""
    return _decide_read(read, request, resource)[0]


def explain(consents: Iterable[dict], request: AccessRequest,
            resource: dict | ResourceFacts) -> list[str]:
    """Lines for $evaluate: the decision, every provision that matched, what
    each Consent meant for this request (incl. why it did not apply), and
    what was not understood and how it was read."""
    decision, matching = _decide(list(consents), request, resource)
    lines = [decision.reason]
    lines += [f"matched: {r.consent} {r.path or '(policy)'} {r.type} ({_specificity(r)}): {r.why}"
              for r in matching]
    return lines + list(decision.notes) + list(decision.not_understood)
