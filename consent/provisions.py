"""Reading a FHIR R4 Consent: what it says, and which parts of it we cannot read.

`parse_consent` checks every part of a Consent against what this engine
knows and turns it into `Provision` values. A part of a provision it does
not know is recorded on that provision as an `Unknown` (the rules decide what
that means: README "Fail closed, narrowly"); a Consent whose whole shape is
unreadable (root provision type or period, the provision structure, a
Consent-level modifierExtension) raises `NotUnderstood`, which the engine
turns into a deny of everything. Parsing looks only at the Consent, never at
a request, so it could be cached.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .dates import parse_period, parse_range
from .model import (ACT_CODE_SYSTEM, KNOWN_ACTIONS, KNOWN_SYSTEMS, Coding, DateRange, normalize_coding,
                    normalize_ref)


class NotUnderstood(Exception):
    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where, self.why = where, why


RESOURCE_TYPES_SYSTEM = "http://hl7.org/fhir/resource-types"
STRUCTURE_DEFINITION = "http://hl7.org/fhir/StructureDefinition"
OPT_OUT = frozenset({"OPTOUT", "OPTOUTE"})
DATA_MEANINGS = frozenset({"instance", "related", "dependents", "authoredby"})
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]+")

_PROVISION_KEYS = frozenset({
    "id", "extension", "type", "period", "actor", "action", "securityLabel", "purpose",
    "class", "code", "dataPeriod", "data", "provision"})
CRITERIA = ("period", "actor", "action", "purpose", "class", "code", "securityLabel",
            "dataPeriod", "data")


@dataclass(frozen=True)
class Unknown:
    """One part of a provision this engine does not understand."""
    where: str      # element path, e.g. provision.provision[1].action[0]
    why: str
    kind: str       # the criterion it sits in ("action", ...), the unknown element's name, or "type"


@dataclass(frozen=True)
class Actor:
    reference: str | None   # when set, it alone identifies the actor
    roles: frozenset[Coding]


@dataclass(frozen=True)
class Provision:
    path: str
    type: str                          # "permit" | "deny" (an unknown type is read as deny)
    criteria: frozenset[str]           # which criteria this provision sets, understood or not
    period: DateRange | None = None
    actors: tuple[Actor, ...] = ()
    actions: frozenset[Coding] = frozenset()
    purposes: frozenset[Coding] = frozenset()
    classes: frozenset[str] = frozenset()
    codes: frozenset[Coding] = frozenset()
    security: frozenset[Coding] = frozenset()
    data_period: DateRange | None = None
    data: tuple[tuple[str, str], ...] = ()    # (meaning, reference)
    children: tuple["Provision", ...] = ()
    unknown: tuple[Unknown, ...] = ()  # what in this provision is not understood

    def understood(self, kind: str) -> bool:
        """This provision sets criterion `kind` and we can read it."""
        return kind in self.criteria and all(u.kind != kind for u in self.unknown)


@dataclass(frozen=True)
class ParsedConsent:
    ref: str                    # "Consent/<id>"
    status: str | None
    privacy_scope: bool
    patient: str | None
    policy: frozenset[str]      # v3-ActCode policyRule codes (OPTIN, OPTOUT, ...)
    root: Provision | None


def _list(value: object, where: str) -> list:
    if not isinstance(value, list) or not value:
        raise NotUnderstood(where, "expected a non-empty list")
    return value


def _obj(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise NotUnderstood(where, "expected an object")
    if value.get("modifierExtension"):
        raise NotUnderstood(where, "has a modifierExtension this engine does not know")
    return value


def _coding(value: object, where: str) -> Coding:
    coding = _obj(value, where)
    system, code = coding.get("system"), coding.get("code")
    if not isinstance(system, str) or not isinstance(code, str) or not system or not code:
        raise NotUnderstood(where, "a coding needs both system and code")
    return normalize_coding(system, code)


def _concept(value: object, where: str) -> list[Coding]:
    concept = _obj(value, where)
    codings = concept.get("coding")
    if codings is None:
        raise NotUnderstood(where, "a concept with text only cannot be matched")
    return [_coding(c, f"{where}.coding[{i}]") for i, c in enumerate(_list(codings, where))]


def _known(coding: Coding, kind: str, where: str) -> Coding:
    if not coding[0].startswith(KNOWN_SYSTEMS[kind]):
        raise NotUnderstood(where, f"{kind} code system {coding[0]} is not one this engine reads")
    return coding


def _reference(value: object, where: str) -> str:
    ref = _obj(value, where).get("reference")
    if not isinstance(ref, str) or not ref:
        raise NotUnderstood(where, "only literal references (Reference.reference) are understood")
    return normalize_ref(ref)


def _actor(value: object, where: str) -> Actor:
    actor = _obj(value, where)
    # R4 requires actor.reference; a Reference with only a display names
    # nobody in particular, so such an actor is given by its role.
    ref = actor.get("reference")
    if isinstance(ref, dict) and set(ref) <= {"display", "extension", "id"}:
        actor = {k: v for k, v in actor.items() if k != "reference"}
    if "reference" in actor:
        return Actor(_reference(actor["reference"], f"{where}.reference"), frozenset())
    if "role" not in actor:
        raise NotUnderstood(where, "an actor needs a reference or a role")
    return Actor(None, frozenset(_known(c, "role", f"{where}.role")
                                 for c in _concept(actor["role"], f"{where}.role")))


def _action(value: object, where: str) -> list[Coding]:
    codings = _concept(value, where)
    for system, code in codings:
        if system not in KNOWN_ACTIONS:
            raise NotUnderstood(where, f"unknown action code system {system}")
        if code not in KNOWN_ACTIONS[system]:
            raise NotUnderstood(where, f"unknown action {system}|{code}")
    return codings


def _class(value: object, where: str) -> str:
    """The resource type a class coding names; profile-style classes of core types too."""
    coding = _obj(value, where)
    system, code = coding.get("system"), coding.get("code")
    name = None
    if system in (RESOURCE_TYPES_SYSTEM, STRUCTURE_DEFINITION) and isinstance(code, str):
        name = code
    elif isinstance(code, str) and code.startswith(STRUCTURE_DEFINITION + "/"):
        name = code[len(STRUCTURE_DEFINITION) + 1:]
    elif isinstance(system, str) and system.startswith(STRUCTURE_DEFINITION + "/") and code is None:
        name = system[len(STRUCTURE_DEFINITION) + 1:]
    if name is None or not _TYPE_NAME.fullmatch(name):
        raise NotUnderstood(where, f"unknown class {system}|{code}")
    return name


def _data(value: object, where: str) -> tuple[str, str]:
    data = _obj(value, where)
    meaning = data.get("meaning")
    if meaning not in DATA_MEANINGS:
        raise NotUnderstood(where, f"unknown data meaning {meaning!r}")
    return meaning, _reference(data.get("reference"), f"{where}.reference")


def _period(value: object, where: str) -> DateRange:
    try:
        return parse_period(value)
    except ValueError as exc:
        raise NotUnderstood(where, f"malformed period ({exc})") from None


def _each(value: object, where: str, read) -> list:
    return [read(v, f"{where}[{i}]") for i, v in enumerate(_list(value, where))]


def _codings(kind: str, concept: bool):
    """A reader for a list of Codings (or of CodeableConcepts) in one of `kind`'s known systems."""
    def read(value: object, where: str) -> frozenset[Coding]:
        def one(item: object, at: str) -> list[Coding]:
            return [_known(c, kind, at) for c in (_concept(item, at) if concept else [_coding(item, at)])]
        return frozenset(c for cs in _each(value, where, one) for c in cs)
    return read


# Criterion -> (Provision field, how to read the element's value).
_READERS = {
    "period": ("period", _period),
    "dataPeriod": ("data_period", _period),
    "actor": ("actors", lambda v, w: tuple(_each(v, w, _actor))),
    "action": ("actions", lambda v, w: frozenset(c for cs in _each(v, w, _action) for c in cs)),
    "purpose": ("purposes", _codings("purpose", concept=False)),
    "class": ("classes", lambda v, w: frozenset(_each(v, w, _class))),
    "code": ("codes", _codings("code", concept=True)),
    "securityLabel": ("security", _codings("securityLabel", concept=False)),
    "data": ("data", lambda v, w: tuple(_each(v, w, _data))),
}


def parse_provision(value: object, where: str, *, root: bool = False) -> Provision:
    """One provision and its sub-provisions. What cannot be read in a criterion
    is recorded as an Unknown; a shape we cannot walk raises NotUnderstood, as
    do an unknown type or period at the root (they say what the whole Consent is)."""
    if not isinstance(value, dict):
        raise NotUnderstood(where, "expected an object")
    unknown: list[Unknown] = []
    for key in sorted(set(value) - _PROVISION_KEYS):
        if key == "modifierExtension":
            if value[key]:
                unknown.append(Unknown(f"{where}.{key}", "a modifierExtension this engine does not know", key))
        else:
            unknown.append(Unknown(f"{where}.{key}", "an element a provision does not have", key))
    mode = value.get("type")
    if mode not in ("permit", "deny"):
        why = f"provision.type must be permit or deny, not {mode!r}"
        if root:
            raise NotUnderstood(f"{where}.type", why)
        unknown.append(Unknown(f"{where}.type", why, "type"))
        mode = "deny"
    fields: dict = {}
    for kind, (field, read) in _READERS.items():
        if kind in value:
            try:
                fields[field] = read(value[kind], f"{where}.{kind}")
            except NotUnderstood as exc:
                if root and kind == "period":
                    raise
                unknown.append(Unknown(exc.where, exc.why, kind))
    children = ()
    if "provision" in value:
        children = tuple(parse_provision(v, f"{where}.provision[{i}]")
                         for i, v in enumerate(_list(value["provision"], f"{where}.provision")))
    criteria = frozenset(k for k in CRITERIA if k in value) | {u.kind for u in unknown if u.kind != "type"}
    return Provision(path=where, type=mode, criteria=criteria, children=children, unknown=tuple(unknown),
                     **fields)


def _scope_is_privacy(consent: dict) -> bool:
    scope = consent.get("scope")
    if not isinstance(scope, dict) or not isinstance(scope.get("coding"), list):
        return False
    return any(isinstance(c, dict) and c.get("system") == "http://terminology.hl7.org/CodeSystem/consentscope"
               and c.get("code") == "patient-privacy" for c in scope["coding"])


def consent_ref(consent: dict) -> str:
    cid = consent.get("id")
    return f"Consent/{cid}" if isinstance(cid, str) and cid else "Consent/(no id)"


def read_header(consent: object) -> ParsedConsent:
    """Status, scope and patient only: enough to know whether the Consent concerns us."""
    if not isinstance(consent, dict) or consent.get("resourceType") != "Consent":
        raise NotUnderstood("Consent", "not a Consent resource")
    patient = consent.get("patient")
    patient_ref = patient.get("reference") if isinstance(patient, dict) else None
    return ParsedConsent(
        ref=consent_ref(consent),
        status=consent.get("status") if isinstance(consent.get("status"), str) else None,
        privacy_scope=_scope_is_privacy(consent),
        patient=normalize_ref(patient_ref) if isinstance(patient_ref, str) else None,
        policy=frozenset(), root=None)


def parse_consent(consent: dict, header: ParsedConsent) -> ParsedConsent:
    """The whole Consent, or NotUnderstood naming the first part we cannot read."""
    if consent.get("modifierExtension"):
        raise NotUnderstood("Consent", "has a modifierExtension this engine does not know")
    if "dateTime" in consent:
        try:
            parse_range(consent["dateTime"])
        except ValueError as exc:
            raise NotUnderstood("Consent.dateTime", str(exc)) from None
    policy: set[str] = set()
    # policyRule only matters when there is no provision; a local policy code
    # or text beside a provision tree changes nothing, so it is not a reason to fail.
    rule = consent.get("policyRule")
    for coding in rule.get("coding", []) if isinstance(rule, dict) else []:
        if isinstance(coding, dict) and coding.get("system") == ACT_CODE_SYSTEM:
            policy.add(coding.get("code"))
    root = parse_provision(consent["provision"], "provision", root=True) if "provision" in consent else None
    if root is not None and root.type == "permit" and policy & OPT_OUT:
        # Which one did the client mean? We cannot know, so we do not guess.
        raise NotUnderstood("provision.type", "a permit base rule contradicts the opt-out policyRule")
    return ParsedConsent(ref=header.ref, status=header.status, privacy_scope=header.privacy_scope,
                         patient=header.patient, policy=frozenset(policy), root=root)
