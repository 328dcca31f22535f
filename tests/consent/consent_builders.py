"""Builders for consent tests: the Consent our importer writes, requests, resources."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

from consent import ACCESS, AccessRequest

RT = "http://hl7.org/fhir/resource-types"
ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
OWN_ACTION = "https://samenzorg.nl/fhir/CodeSystem/consent-action"
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
EXTRA = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)

R1_ACTOR = [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                   "code": "IRCP"}]},
             "reference": {"reference": "RelatedPerson/r1"}}]
ACCESS_ACTION = [{"coding": [{"system": ACTION, "code": "access"}]}]
CONTRIBUTE_ACTION = [{"coding": [{"system": OWN_ACTION, "code": "contribute"}]}]

IMPORTER_CONSENT = {
    "resourceType": "Consent", "id": "c1", "status": "active",
    "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                          "code": "patient-privacy"}]},
    "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
    "patient": {"reference": "Patient/p1"}, "dateTime": "2026-03-01T10:00:00+01:00",
    "performer": [{"reference": "Patient/p1"}],
    "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                               "code": "OPTIN"}]},
    "provision": {"type": "deny", "provision": [
        {"type": "permit", "period": {"start": "2026-03-01", "end": "2027-03-01"},
         "actor": R1_ACTOR, "action": ACCESS_ACTION,
         "class": [{"system": RT, "code": "CareTeam"}, {"system": RT, "code": "Communication"}]},
        {"type": "permit", "actor": R1_ACTOR, "action": ACCESS_ACTION,
         "class": [{"system": RT, "code": "CarePlan"}],
         "data": [{"meaning": "instance", "reference": {"reference": "CarePlan/cp7"}}]},
        {"type": "permit", "actor": R1_ACTOR, "action": CONTRIBUTE_ACTION,
         "class": [{"system": RT, "code": "Communication"}]}]},
}


def importer_consent() -> dict:
    return copy.deepcopy(IMPORTER_CONSENT)


def consent(provision: dict | None = None, cid: str = "c9", **extra) -> dict:
    """An active patient-privacy Consent for Patient/p1 with the given provision."""
    res = {"resourceType": "Consent", "id": cid, "status": "active",
           "scope": copy.deepcopy(IMPORTER_CONSENT["scope"]),
           "category": copy.deepcopy(IMPORTER_CONSENT["category"]),
           "patient": {"reference": "Patient/p1"}}
    if provision is not None:
        res["provision"] = provision
    res.update(extra)
    return res


def for_r1(**criteria) -> dict:
    """A permit for RelatedPerson/r1 with extra criteria, under a deny base rule."""
    return {"type": "deny", "provision": [{"type": "permit", "actor": R1_ACTOR, **criteria}]}


def request(actor="RelatedPerson/r1", action=ACCESS, now=NOW, roles=(), purpose=None,
            patient="Patient/p1") -> AccessRequest:
    return AccessRequest(actor=actor, action=action, patient=patient, now=now,
                         actor_roles=frozenset(roles), purpose=purpose)


def resource(rtype="CareTeam", rid="t1", **fields) -> dict:
    return {"resourceType": rtype, "id": rid, **fields}
