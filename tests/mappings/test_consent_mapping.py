"""Sharing choices become Consents in exactly the shape the consent engine evaluates."""
from __future__ import annotations

import pytest

from mappings import MappingError, codes, network_to_fhir
from mappings.sharing import sharing_to_consent

IRCP = {"coding": [{"system": codes.V3_PARTICIPATION_TYPE, "code": "IRCP"}]}
ACCESS = [{"coding": [{"system": codes.CONSENT_ACTION, "code": "access"}]}]
CONTRIBUTE = [{"coding": [{"system": codes.OUR_CONSENT_ACTION, "code": "contribute"}]}]


def classes(permit):
    return [c["code"] for c in permit["class"]]


@pytest.fixture
def bundle(minimal_doc):
    return network_to_fhir(minimal_doc)


def test_daughter_sharing_everything_gets_the_agreed_consent_shape(bundle, by_ecd_id, url_of, of_type):
    consent = by_ecd_id(bundle, "S-1", "Consent")
    patient = url_of(bundle, of_type(bundle, "Patient")[0])
    daughter = url_of(bundle, by_ecd_id(bundle, "M-1", "RelatedPerson"))
    org = url_of(bundle, by_ecd_id(bundle, "ORG-1", "Organization"))
    permit = {"type": "permit", "period": {"start": "2026-01-01"},
              "actor": [{"role": IRCP, "reference": {"reference": daughter}}]}
    assert consent == {
        "resourceType": "Consent",
        "identifier": [{"system": "https://ecd.test.example/id/sharing", "value": "S-1"}],
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": patient},
        "dateTime": "2026-01-01T10:00:00+01:00",
        "performer": [{"reference": patient}],
        "organization": [{"reference": org}],
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
        "provision": {"type": "deny", "provision": [
            {**permit, "action": ACCESS, "class": [{"system": "http://hl7.org/fhir/resource-types", "code": c} for c in (
                "CareTeam", "Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization",
                "CarePlan", "Goal", "Communication")]},
            {**permit, "action": CONTRIBUTE, "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Communication"}]},
        ]},
    }


def test_neighbour_sees_only_the_care_plans_he_performs(minimal_doc, by_ecd_id, url_of):
    minimal_doc["agreements"].append({"id": "A-3", "activity": "Vuilnis", "category": "household", "performers": ["M-2", "M-1"]})
    bundle = network_to_fhir(minimal_doc)
    [permit] = by_ecd_id(bundle, "S-2", "Consent")["provision"]["provision"]
    assert classes(permit) == ["CarePlan"] and permit["action"] == ACCESS
    assert permit["data"] == [{"meaning": "instance", "reference": {"reference": url_of(bundle, by_ecd_id(bundle, a, "CarePlan"))}}
                              for a in ("A-1", "A-3")]


def test_own_agreements_sit_in_their_own_permit_next_to_the_care_team(minimal_doc, by_ecd_id):
    minimal_doc["sharing"][1]["parts"] = ["care-team", "own-agreements"]
    permits = by_ecd_id(network_to_fhir(minimal_doc), "S-2", "Consent")["provision"]["provision"]
    assert [("data" in p, classes(p)[0]) for p in permits] == [(False, "CareTeam"), (True, "CarePlan")]
    assert "CarePlan" not in classes(permits[0])


def test_every_permit_names_classes_so_none_opens_every_type(fixture_doc):
    for entry in network_to_fhir(fixture_doc)["entry"]:
        if entry["resource"]["resourceType"] == "Consent":
            for permit in entry["resource"]["provision"]["provision"]:
                assert permit["class"], entry["resource"]["identifier"]


def test_consent_decided_by_the_mentor_names_the_mentor_as_performer(bundle, by_ecd_id, url_of):
    consent = by_ecd_id(bundle, "S-2", "Consent")
    assert consent["performer"] == [{"reference": url_of(bundle, by_ecd_id(bundle, "M-5", "RelatedPerson"))}]


def test_who_recorded_the_choice_is_kept_in_an_extension(bundle, by_ecd_id, url_of):
    consent = by_ecd_id(bundle, "S-2", "Consent")
    assert consent["extension"] == [{"url": codes.EXT_RECORDED_BY,
                                     "valueReference": {"reference": url_of(bundle, by_ecd_id(bundle, "M-3", "PractitionerRole"))}}]


def test_until_date_ends_every_permit(bundle, by_ecd_id):
    for permit in by_ecd_id(bundle, "S-2", "Consent")["provision"]["provision"]:
        assert permit["period"] == {"start": "2026-01-01", "end": "2026-06-30"}


def test_revoked_choice_becomes_an_inactive_consent(minimal_doc, by_ecd_id):
    minimal_doc["sharing"][0]["status"] = "revoked"
    assert by_ecd_id(network_to_fhir(minimal_doc), "S-1", "Consent")["status"] == "inactive"


def test_goals_only_share_goal_and_logbook_only_communication(minimal_doc, by_ecd_id):
    minimal_doc["sharing"][0]["parts"] = ["goals", "logbook"]
    [permit] = by_ecd_id(network_to_fhir(minimal_doc), "S-1", "Consent")["provision"]["provision"]
    assert classes(permit) == ["Goal", "Communication"]


def test_contribute_alone_gives_only_the_contribute_permit(minimal_doc, by_ecd_id):
    minimal_doc["sharing"][0]["parts"] = ["contribute-logbook"]
    [permit] = by_ecd_id(network_to_fhir(minimal_doc), "S-1", "Consent")["provision"]["provision"]
    assert (permit["action"], classes(permit)) == (CONTRIBUTE, ["Communication"])


def test_without_managing_organisation_the_consent_has_no_organization(minimal_doc, by_ecd_id):
    del minimal_doc["client"]["managingOrganization"]  # ORG-1 stays in use as the nurse's employer
    assert "organization" not in by_ecd_id(network_to_fhir(minimal_doc), "S-1", "Consent")


def test_own_agreements_without_care_plans_refuses_rather_than_opening_all_care_plans():
    choice = {"parts": ["own-agreements"], "period": {"start": "2026-01-01"}, "status": "active",
              "recordedAt": "2026-01-01T10:00:00+01:00"}
    with pytest.raises(MappingError):
        sharing_to_consent(choice, identifier={"system": "s", "value": "v"}, patient_ref="Patient/1",
                           performer_ref="Patient/1", actor_ref="RelatedPerson/2", organization_ref=None,
                           recorder_ref=None, own_agreement_refs=[])


def test_son_in_fixture_c_has_only_a_revoked_consent(fixture_named):
    bundle = network_to_fhir(fixture_named("c-deelt-niets-met-zoon.json"))
    son = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"
               and e["resource"]["identifier"][0]["value"] == "REL-U-2")
    about_son = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"
                 and e["resource"]["provision"]["provision"][0]["actor"][0]["reference"]["reference"] == son]
    assert [c["status"] for c in about_son] == ["inactive"]


def test_mentor_in_fixture_b_performs_every_consent(fixture_named):
    bundle = network_to_fhir(fixture_named("b-mentor-beheert-toestemming.json"))
    mentor = next(e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson"
                  and e["resource"]["identifier"][0]["value"] == "REL-Z-401")
    consents = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"]
    assert consents and all(c["performer"] == [{"reference": mentor}] for c in consents)


def test_fixture_f_has_an_expired_consent_and_a_member_who_left(fixture_named):
    doc = fixture_named("f-netwerk-in-verandering.json")
    assert any(s["period"].get("end", "9999") < "2026-11-01" and s.get("status", "active") == "active" for s in doc["sharing"])
    assert any(m.get("period", {}).get("end") for m in doc["members"] if m["kind"] == "informal")
