"""The one search-parameter registry: every parameter of every served type, as data.

Each entry says which index table holds its values (its FHIR search type),
where the values live in the resource JSON (dotted paths; a step may carry a
`[field=value]` filter, FHIRPath's `where(field='value')`), and for
references which resource types it may point to. Extraction (`extract.py`), query building (`sql.py`),
includes and the CapabilityStatement all read this table; nothing else knows
about individual parameters.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..resource_types import SERVED_TYPES

SP = "http://hl7.org/fhir/SearchParameter/"

SERVED = SERVED_TYPES
# What a reference to "any" resource may point at, for `_include` targets and
# chains without an explicit type: what this gateway serves.
ANY = SERVED


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # token | string | reference | date | uri
    paths: tuple[str, ...]
    definition: str
    targets: tuple[str, ...] = ()  # reference params: allowed target types
    # ContactPoint tokens look like Identifiers ({system, value}); say which.
    kind: str | None = None
    documentation: str | None = None
    # Where the value is stored when it is not in an index table.
    column: str | None = None  # "res_id" | "last_updated"
    sortable: bool = True


# Parameters this server defines itself (not in R4) have their canonical URL here.
OWN_SP = "https://samenzorg.nl/fhir/SearchParameter/"


def _p(name, type_, paths, definition, targets=(), **kw) -> SearchParam:
    if isinstance(paths, str):
        paths = (paths,)
    if not definition.startswith("https://"):
        definition = SP + definition
    return SearchParam(name, type_, tuple(paths), definition, tuple(targets), **kw)


# Parameters every type has (R4 "Resource" parameters).
COMMON: dict[str, SearchParam] = {p.name: p for p in (
    _p("_id", "token", (), "Resource-id", column="res_id"),
    _p("_lastUpdated", "date", (), "Resource-lastUpdated", column="last_updated"),
    _p("_tag", "token", "meta.tag", "Resource-tag"),
    _p("_security", "token", "meta.security", "Resource-security"),
    _p("_profile", "uri", "meta.profile", "Resource-profile"),
    _p("_source", "uri", "meta.source", "Resource-source"),
)}

def _person(rtype: str, *, family_given: bool) -> list[SearchParam]:
    """Parameters shared by the "individual" types (R4 individual-* definitions)."""
    out = [
        _p("telecom", "token", "telecom", "individual-telecom", kind="ContactPoint"),
        _p("phone", "token", "telecom[system=phone]", "individual-phone", kind="ContactPoint"),
        _p("email", "token", "telecom[system=email]", "individual-email", kind="ContactPoint"),
        _p("address", "string", "address", "individual-address"),
        _p("address-city", "string", "address.city", "individual-address-city"),
        _p("address-postalcode", "string", "address.postalCode", "individual-address-postalcode"),
        _p("gender", "token", "gender", "individual-gender"),
    ]
    if rtype != "Practitioner":
        out.append(_p("birthdate", "date", "birthDate", "individual-birthdate"))
    if family_given:
        out += [
            _p("family", "string", "name.family", "individual-family"),
            _p("given", "string", "name.given", "individual-given"),
        ]
    return out


CONSENT_ACTORS = ("Device", "Group", "CareTeam", "Organization", "Patient", "Practitioner", "RelatedPerson",
                  "PractitionerRole")

TYPES: dict[str, list[SearchParam]] = {
    "Patient": [
        _p("identifier", "token", "identifier", "Patient-identifier"),
        _p("name", "string", "name", "Patient-name"),
        _p("active", "token", "active", "Patient-active"),
        _p("general-practitioner", "reference", "generalPractitioner", "Patient-general-practitioner",
           ("Organization", "Practitioner", "PractitionerRole")),
        _p("organization", "reference", "managingOrganization", "Patient-organization", ("Organization",)),
        _p("link", "reference", "link.other", "Patient-link", ("Patient", "RelatedPerson")),
        *_person("Patient", family_given=True),
    ],
    "RelatedPerson": [
        _p("identifier", "token", "identifier", "RelatedPerson-identifier"),
        _p("name", "string", "name", "RelatedPerson-name"),
        _p("patient", "reference", "patient", "RelatedPerson-patient", ("Patient",)),
        _p("relationship", "token", "relationship", "RelatedPerson-relationship"),
        _p("active", "token", "active", "RelatedPerson-active"),
        *_person("RelatedPerson", family_given=False),
    ],
    "Practitioner": [
        _p("identifier", "token", "identifier", "Practitioner-identifier"),
        _p("name", "string", "name", "Practitioner-name"),
        _p("active", "token", "active", "Practitioner-active"),
        *_person("Practitioner", family_given=True),
    ],
    "PractitionerRole": [
        _p("identifier", "token", "identifier", "PractitionerRole-identifier"),
        _p("practitioner", "reference", "practitioner", "PractitionerRole-practitioner", ("Practitioner",)),
        _p("organization", "reference", "organization", "PractitionerRole-organization", ("Organization",)),
        _p("role", "token", "code", "PractitionerRole-role"),
        _p("specialty", "token", "specialty", "PractitionerRole-specialty"),
        _p("active", "token", "active", "PractitionerRole-active"),
        _p("date", "date", "period", "PractitionerRole-date"),
    ],
    "Organization": [
        _p("identifier", "token", "identifier", "Organization-identifier"),
        _p("name", "string", ("name", "alias"), "Organization-name"),
        _p("active", "token", "active", "Organization-active"),
        _p("type", "token", "type", "Organization-type"),
        _p("partof", "reference", "partOf", "Organization-partof", ("Organization",)),
    ],
    "CareTeam": [
        _p("identifier", "token", "identifier", "clinical-identifier"),
        _p("patient", "reference", "subject", "clinical-patient", ("Patient",)),
        _p("subject", "reference", "subject", "CareTeam-subject", ("Patient", "Group")),
        _p("participant", "reference", "participant.member", "CareTeam-participant",
           ("Practitioner", "Organization", "CareTeam", "Patient", "PractitionerRole", "RelatedPerson")),
        _p("status", "token", "status", "CareTeam-status"),
        _p("category", "token", "category", "CareTeam-category"),
        _p("date", "date", "period", "clinical-date"),
    ],
    "CarePlan": [
        _p("identifier", "token", "identifier", "clinical-identifier"),
        _p("patient", "reference", "subject", "clinical-patient", ("Patient",)),
        _p("subject", "reference", "subject", "CarePlan-subject", ("Patient", "Group")),
        _p("status", "token", "status", "CarePlan-status"),
        _p("intent", "token", "intent", "CarePlan-intent"),
        _p("category", "token", "category", "CarePlan-category"),
        _p("date", "date", "period", "clinical-date"),
        _p("care-team", "reference", "careTeam", "CarePlan-care-team", ("CareTeam",)),
        _p("goal", "reference", "goal", "CarePlan-goal", ("Goal",)),
        _p("performer", "reference", "activity.detail.performer", "CarePlan-performer",
           ("Practitioner", "Organization", "RelatedPerson", "Patient", "CareTeam", "PractitionerRole",
            "HealthcareService", "Device")),
        _p("activity-code", "token", "activity.detail.code", "CarePlan-activity-code"),
        _p("activity-date", "date", ("activity.detail.scheduledTiming", "activity.detail.scheduledPeriod"),
           "CarePlan-activity-date"),
        _p("based-on", "reference", "basedOn", "CarePlan-based-on", ("CarePlan",)),
        _p("part-of", "reference", "partOf", "CarePlan-part-of", ("CarePlan",)),
        _p("replaces", "reference", "replaces", "CarePlan-replaces", ("CarePlan",)),
    ],
    "Goal": [
        _p("identifier", "token", "identifier", "clinical-identifier"),
        _p("patient", "reference", "subject", "clinical-patient", ("Patient",)),
        _p("subject", "reference", "subject", "Goal-subject", ("Patient", "Group", "Organization")),
        _p("lifecycle-status", "token", "lifecycleStatus", "Goal-lifecycle-status"),
        _p("achievement-status", "token", "achievementStatus", "Goal-achievement-status"),
        _p("category", "token", "category", "Goal-category"),
        _p("start-date", "date", "startDate", "Goal-start-date"),
        _p("target-date", "date", "target.dueDate", "Goal-target-date"),
    ],
    "Consent": [
        _p("identifier", "token", "identifier", "clinical-identifier"),
        _p("patient", "reference", "patient", "clinical-patient", ("Patient",)),
        _p("status", "token", "status", "Consent-status"),
        _p("scope", "token", "scope", "Consent-scope"),
        _p("category", "token", "category", "Consent-category"),
        _p("actor", "reference", "provision.actor.reference", "Consent-actor", CONSENT_ACTORS),
        # R4's `actor` looks at the top-level provision only, where our Consents name nobody;
        # this one looks at every level (FHIRPath Consent.repeat(provision).actor.reference).
        _p("provision-actor", "reference", "provision*.actor.reference",
           OWN_SP + "Consent-provision-actor", CONSENT_ACTORS,
           documentation="Who is named as actor in a provision at any level of nesting (R4's "
                         "`actor` looks at the top-level provision only). Expression: "
                         "Consent.repeat(provision).actor.reference. Type/id, id, absolute URL; "
                         "modifiers :[type], :missing; chaining and _has."),
        _p("action", "token", "provision.action", "Consent-action"),
        _p("period", "date", "provision.period", "Consent-period"),
        _p("date", "date", "dateTime", "clinical-date"),
        _p("purpose", "token", "provision.purpose", "Consent-purpose"),
        _p("security-label", "token", "provision.securityLabel", "Consent-security-label"),
        _p("organization", "reference", "organization", "Consent-organization", ("Organization",)),
        _p("consentor", "reference", "performer", "Consent-consentor",
           ("Organization", "Patient", "Practitioner", "RelatedPerson", "PractitionerRole")),
    ],
    "Communication": [
        _p("identifier", "token", "identifier", "Communication-identifier"),
        _p("subject", "reference", "subject", "Communication-subject", ("Patient", "Group")),
        _p("patient", "reference", "subject", "Communication-patient", ("Patient",)),
        _p("sender", "reference", "sender", "Communication-sender",
           ("Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson",
            "HealthcareService")),
        _p("recipient", "reference", "recipient", "Communication-recipient",
           ("Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson",
            "Group", "CareTeam", "HealthcareService")),
        _p("category", "token", "category", "Communication-category"),
        _p("medium", "token", "medium", "Communication-medium"),
        _p("sent", "date", "sent", "Communication-sent"),
        _p("received", "date", "received", "Communication-received"),
        _p("status", "token", "status", "Communication-status"),
        _p("encounter", "reference", "encounter", "Communication-encounter", ("Encounter",)),
        _p("based-on", "reference", "basedOn", "Communication-based-on", ANY),
        _p("part-of", "reference", "partOf", "Communication-part-of", ANY),
    ],
    "AuditEvent": [
        _p("patient", "reference", ("agent.who", "entity.what"), "AuditEvent-patient", ("Patient",)),
        _p("agent", "reference", "agent.who", "AuditEvent-agent",
           ("Practitioner", "Organization", "Device", "Patient", "PractitionerRole", "RelatedPerson")),
        _p("entity", "reference", "entity.what", "AuditEvent-entity", ANY),
        _p("source", "reference", "source.observer", "AuditEvent-source",
           ("Practitioner", "Organization", "Device", "Patient", "PractitionerRole", "RelatedPerson")),
        _p("date", "date", "recorded", "AuditEvent-date"),
        _p("type", "token", "type", "AuditEvent-type"),
        _p("subtype", "token", "subtype", "AuditEvent-subtype"),
        _p("action", "token", "action", "AuditEvent-action"),
        _p("outcome", "token", "outcome", "AuditEvent-outcome"),
    ],
    "Subscription": [
        _p("status", "token", "status", "Subscription-status"),
        _p("type", "token", "channel.type", "Subscription-type"),
        _p("url", "uri", "channel.endpoint", "Subscription-url"),
        _p("criteria", "string", "criteria", "Subscription-criteria"),
        _p("payload", "token", "channel.payload", "Subscription-payload"),
        _p("contact", "token", "contact", "Subscription-contact", kind="ContactPoint"),
    ],
    "Provenance": [
        _p("target", "reference", "target", "Provenance-target", ANY),
        _p("patient", "reference", "target", "Provenance-patient", ("Patient",)),
        _p("agent", "reference", "agent.who", "Provenance-agent",
           ("Practitioner", "Organization", "Device", "Patient", "PractitionerRole", "RelatedPerson")),
        _p("entity", "reference", "entity.what", "Provenance-entity", ANY),
        _p("recorded", "date", "recorded", "Provenance-recorded"),
        _p("when", "date", "occurredDateTime", "Provenance-when"),
    ],
}

# The registry proper: type -> name -> parameter, common parameters included.
REGISTRY: dict[str, dict[str, SearchParam]] = {
    rtype: {**COMMON, **{p.name: p for p in params}} for rtype, params in TYPES.items()
}

# What a system-level search (no type) understands.
SYSTEM = {name: COMMON[name] for name in ("_id", "_lastUpdated", "_tag", "_security", "_profile", "_source")}


def lookup(res_type: str | None, name: str) -> SearchParam | None:
    if res_type is None:
        return SYSTEM.get(name)
    return REGISTRY.get(res_type, {}).get(name)


def reference_params(res_type: str) -> list[SearchParam]:
    return [p for p in REGISTRY.get(res_type, {}).values() if p.type == "reference"]


def _check() -> None:
    """The table itself is sane; runs once at import and fails loudly."""
    for rtype, params in REGISTRY.items():
        for p in params.values():
            if p.type not in ("token", "string", "reference", "date", "uri"):
                raise ValueError(f"{rtype}.{p.name}: unknown type {p.type}")
            if not (p.paths or p.column):
                raise ValueError(f"{rtype}.{p.name}: no path")
            if p.type == "reference" and not p.targets:
                raise ValueError(f"{rtype}.{p.name}: a reference needs target types")


_check()
