"""R4 makes Consent.provision.actor.reference required; a display-only Reference names nobody."""
from datetime import datetime, timezone

from consent import ACCESS, AccessRequest, decide

MANTELZORGER = ("urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1", "100001")


def _consent(actor):
    return {"resourceType": "Consent", "id": "c1", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "patient": {"reference": "Patient/p1"},
            "provision": {"type": "deny", "provision": [{"type": "permit", "actor": [actor],
                          "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "CarePlan"}]}]}}


def _request(roles):
    return AccessRequest(actor="RelatedPerson/r1", action=ACCESS, patient="Patient/p1",
                         now=datetime(2026, 6, 1, tzinfo=timezone.utc), actor_roles=frozenset(roles))


PLAN = {"resourceType": "CarePlan", "id": "cp1"}


def test_display_only_reference_grants_to_everyone_holding_the_role():
    actor = {"role": {"coding": [{"system": MANTELZORGER[0], "code": MANTELZORGER[1]}]},
             "reference": {"display": "de mantelzorgers"}}
    assert decide([_consent(actor)], _request({MANTELZORGER}), PLAN).permitted
    assert not decide([_consent(actor)], _request(set()), PLAN).permitted


def test_logical_reference_by_identifier_is_not_understood_and_denies():
    actor = {"role": {"coding": [{"system": MANTELZORGER[0], "code": MANTELZORGER[1]}]},
             "reference": {"identifier": {"system": "urn:x", "value": "1"}}}
    decision = decide([_consent(actor)], _request({MANTELZORGER}), PLAN)
    assert not decision.permitted and any("reference" in line for line in decision.not_understood)
