"""Who may act as the client (Wgbo): legal representatives, not carers as such.

Under the Wgbo a mentor, curator or guardian (or someone the client
authorised in writing) represents the client; being the main family carer
(mantelzorger) or first contact person does not. The gateway lets a
representative act as the patient, incl. managing Consent, so this reads
strictly: anything missing or odd means "not a representative".
"""
from __future__ import annotations

from datetime import datetime, timezone

from .dates import parse_period, within
from .model import COD472, NETWORK_ROLE_SYSTEM, normalize_coding, normalize_ref

LEGAL_REPRESENTATIVE_ROLES = frozenset({
    (COD472, "03"),   # curator
    (COD472, "11"),   # voogd (guardian of a minor)
    (COD472, "15"),   # mentor
    (COD472, "24"),   # wettelijke vertegenwoordiger
    (NETWORK_ROLE_SYSTEM, "written-authorisation"),  # written authorisation on record
})


def is_legal_representative(related_person: dict, patient_ref: str,
                            now: datetime | None = None) -> bool:
    """True only for an active RelatedPerson of `patient_ref`, within its
    period at `now` (default: the current time), holding a legal-representative role.

    No `active` element means active (FHIR: absent is not false); any value
    but `true` (false, or something that is not a boolean) means not active."""
    if not isinstance(related_person, dict) or related_person.get("resourceType") != "RelatedPerson":
        return False
    if related_person.get("active", True) is not True:
        return False
    patient = related_person.get("patient")
    ref = patient.get("reference") if isinstance(patient, dict) else None
    if not isinstance(ref, str) or normalize_ref(ref) != normalize_ref(patient_ref):
        return False
    if "period" in related_person:
        try:
            period = parse_period(related_person["period"])
        except ValueError:
            return False
        if not within(now or datetime.now(timezone.utc), period):
            return False
    return bool(_roles(related_person) & LEGAL_REPRESENTATIVE_ROLES)


def _roles(related_person: dict) -> set[tuple[str, str]]:
    roles = set()
    concepts = related_person.get("relationship")
    for concept in concepts if isinstance(concepts, list) else []:
        codings = concept.get("coding") if isinstance(concept, dict) else None
        for coding in codings if isinstance(codings, list) else []:
            if isinstance(coding, dict) and isinstance(coding.get("system"), str) \
                    and isinstance(coding.get("code"), str):
                roles.add(normalize_coding(coding["system"], coding["code"]))
    return roles


def roles_of(related_person: dict) -> frozenset[tuple[str, str]]:
    """The relationship codings a RelatedPerson holds, for AccessRequest.actor_roles."""
    return frozenset(_roles(related_person))
