"""The values the consent engine takes and gives: requests, facts, decisions."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

Coding = tuple[str, str]

# The FHIR R4 consent actions (http://hl7.org/fhir/R4/codesystem-consent-action.html).
CONSENT_ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
# Our own action codes: FHIR has no code for "add to the shared record".
SAMENZORG_ACTION_SYSTEM = "https://samenzorg.nl/fhir/CodeSystem/consent-action"

ACCESS: Coding = (CONSENT_ACTION_SYSTEM, "access")
CONTRIBUTE: Coding = (SAMENZORG_ACTION_SYSTEM, "contribute")

KNOWN_ACTIONS: dict[str, frozenset[str]] = {
    CONSENT_ACTION_SYSTEM: frozenset({"collect", "access", "use", "disclose", "correct"}),
    SAMENZORG_ACTION_SYSTEM: frozenset({"contribute"}),
}

SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
PATIENT_PRIVACY: Coding = (SCOPE_SYSTEM, "patient-privacy")
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
ZIB_EXTRA_ROLES = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1"
NETWORK_ROLE_SYSTEM = "https://samenzorg.nl/fhir/CodeSystem/network-role"
_HL7 = "http://terminology.hl7.org/CodeSystem/"
_OURS = "https://samenzorg.nl/fhir/CodeSystem/"

# Code systems a criterion's codings are read in, by system prefix. The engine
# compares codings exactly, which means what the client meant only when the
# values it is compared with (RelatedPerson.relationship, the request's
# purpose, meta.security, the resource's codes) come from the same systems. A
# coding in any other system is not understood (README "Fail closed, narrowly").
KNOWN_SYSTEMS: dict[str, tuple[str, ...]] = {
    # RelatedPerson.relationship: zib RelatieCodelijst / Vektis, FHIR's binding, ours
    "role": (COD472, ZIB_EXTRA_ROLES, _HL7 + "v3-RoleCode", _HL7 + "v2-0131", NETWORK_ROLE_SYSTEM),
    "purpose": (_HL7 + "v3-ActReason",),           # R4 PurposeOfUse
    "securityLabel": (_HL7 + "v3-", _OURS),        # R4 All Security Labels: v3 systems only
    "code": ("http://snomed.info/sct", "http://loinc.org", _HL7,
             "urn:oid:2.16.840.1.113883.2.4.", _OURS),  # Dutch national OIDs (zib, Vektis)
}


def normalize_coding(system: str, code: str) -> Coding:
    """Vektis COD472 codes 1..9 became 01..09 (zib erratum ZIB-1378); older
    senders still send the short form, and both must name the same role."""
    if system == COD472 and code.isdigit() and len(code) == 1:
        code = "0" + code
    return (system, code)


def normalize_ref(ref: str) -> str:
    """`Type/id/_history/3` names the same resource as `Type/id` for access."""
    head, sep, _ = ref.partition("/_history/")
    return head if sep else ref


@dataclass(frozen=True, kw_only=True)
class AccessRequest:
    """Who wants to do what with whose data, and when.

    `actor_roles` are the codings the actor holds (e.g. their
    RelatedPerson.relationship codings), so provisions naming actors by role
    can match. `purpose` is optional; see README "Unknowns".
    """

    actor: str
    action: Coding
    patient: str
    now: datetime
    actor_roles: frozenset[Coding] = frozenset()
    purpose: Coding | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("AccessRequest.now must be timezone-aware")
        roles = frozenset(normalize_coding(s, c) for s, c in self.actor_roles)
        object.__setattr__(self, "actor_roles", roles)
        object.__setattr__(self, "actor", normalize_ref(self.actor))
        object.__setattr__(self, "patient", normalize_ref(self.patient))


@dataclass(frozen=True)
class DateRange:
    """Half-open [start, end) of aware datetimes; None is unbounded.

    FHIR dates are ranges: "2026-03" is the whole of March."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, kw_only=True)
class ResourceFacts:
    """What consent criteria can test about one resource (see facts.py).

    `referenced_by` is the set of resources known to reference this one; a
    resource alone cannot tell, so `facts_of` leaves it None (unknown) and the
    gateway may fill it from its reference index."""

    type: str
    id: str | None = None
    security: frozenset[Coding] = frozenset()
    codes: frozenset[Coding] = frozenset()
    data_date: DateRange | None = None
    authors: frozenset[str] = frozenset()
    references: frozenset[str] = frozenset()
    referenced_by: frozenset[str] | None = None


class Verdict(enum.Enum):
    """The pre-check answer, as in HAPI FHIR's consent service."""

    REJECT = "reject"          # nothing can be permitted: stop now
    PROCEED = "proceed"        # check each resource
    AUTHORIZED = "authorized"  # everything is permitted: no per-resource check


@dataclass(frozen=True)
class Decision:
    verdict: str                     # "permit" | "deny"
    reason: str
    consent: str | None = None       # "Consent/<id>" that decided
    provision: str | None = None     # e.g. "provision.provision[1]"
    notes: tuple[str, ...] = field(default=())  # why other consents did not decide
    not_understood: tuple[str, ...] = field(default=())  # what was not understood, and how it was read

    @property
    def permitted(self) -> bool:
        return self.verdict == "permit"
