"""network_to_fhir: one test per mapping rule."""
from __future__ import annotations

import uuid

import pytest

from mappings import NetworkInvalid, is_legal_representative, network_to_fhir
from mappings import codes

BASE = "https://ecd.test.example/id"


@pytest.fixture
def bundle(minimal_doc):
    return network_to_fhir(minimal_doc)


def codings(concepts):
    return [(c["system"], c["code"]) for concept in concepts for c in concept["coding"]]


def test_bundle_is_a_transaction(bundle):
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"


def test_an_invalid_document_gives_no_bundle(minimal_doc):
    del minimal_doc["client"]["bsn"]
    with pytest.raises(NetworkInvalid):
        network_to_fhir(minimal_doc)


def test_client_becomes_patient_with_bsn_and_ecd_identifier(bundle, of_type):
    [patient] = of_type(bundle, "Patient")
    assert patient["identifier"] == [{"system": f"{BASE}/client", "value": "CL-1"},
                                     {"system": codes.BSN, "value": "999911120"}]
    assert patient["name"] == [{"use": "official", "family": "de Vries", "given": ["Anna"]}]
    assert (patient["birthDate"], patient["gender"]) == ("1938-04-12", "female")


def test_patient_points_at_its_managing_organisation(bundle, of_type, by_ecd_id, url_of):
    [patient] = of_type(bundle, "Patient")
    assert patient["managingOrganization"]["reference"] == url_of(bundle, by_ecd_id(bundle, "ORG-1"))


def test_informal_member_becomes_related_person_of_the_client(bundle, by_ecd_id, url_of, of_type):
    daughter = by_ecd_id(bundle, "M-1", "RelatedPerson")
    assert daughter["identifier"] == [{"system": f"{BASE}/member", "value": "M-1"}]
    assert daughter["patient"]["reference"] == url_of(bundle, of_type(bundle, "Patient")[0])


def test_every_related_person_is_active_explicitly_even_after_its_period(minimal_doc, of_type):
    minimal_doc["members"][1]["period"] = {"start": "2020-01-01", "end": "2021-01-01"}
    people = of_type(network_to_fhir(minimal_doc), "RelatedPerson")
    assert people and all(p["active"] is True for p in people)


def test_roles_and_family_relationship_are_separate_concepts_in_relationship(bundle, by_ecd_id):
    daughter = by_ecd_id(bundle, "M-1", "RelatedPerson")
    assert [codings([c]) for c in daughter["relationship"]] == [
        [(codes.COD472, "01")], [(codes.ZIB_EXTRA_ROLES, "100001")], [(codes.V3_ROLE_CODE, "DAUC")]]


def test_neighbour_is_cod472_code_19_not_a_family_relationship(bundle, by_ecd_id):
    assert codings(by_ecd_id(bundle, "M-2", "RelatedPerson")["relationship"]) == [(codes.COD472, "19")]


def test_old_role_code_reaches_fhir_with_its_leading_zero(minimal_doc, by_ecd_id):
    minimal_doc["members"][1]["roles"] = ["1"]
    bundle = network_to_fhir(minimal_doc)
    assert codings(by_ecd_id(bundle, "M-2", "RelatedPerson")["relationship"]) == [(codes.COD472, "01")]


def test_written_authorisation_uses_our_own_role_code(minimal_doc, by_ecd_id):
    minimal_doc["members"][4]["roles"] = ["written-authorisation"]
    rep = by_ecd_id(network_to_fhir(minimal_doc), "M-5", "RelatedPerson")
    assert codings(rep["relationship"]) == [(codes.NETWORK_ROLE, "written-authorisation")]
    assert is_legal_representative(rep)


def test_mentor_is_a_legal_representative_and_a_mantelzorger_is_not(bundle, by_ecd_id):
    assert is_legal_representative(by_ecd_id(bundle, "M-5", "RelatedPerson"))
    assert not is_legal_representative(by_ecd_id(bundle, "M-1", "RelatedPerson"))


def test_volunteer_organisation_is_kept_in_an_extension(bundle, by_ecd_id, url_of):
    volunteer = by_ecd_id(bundle, "M-4", "RelatedPerson")
    [ext] = [e for e in volunteer["extension"] if e["url"] == codes.EXT_ORGANIZATION]
    assert ext["valueReference"]["reference"] == url_of(bundle, by_ecd_id(bundle, "ORG-2", "Organization"))


def test_availability_of_an_informal_member_is_an_extension(minimal_doc, by_ecd_id):
    minimal_doc["members"][1]["availability"] = [{"daysOfWeek": ["sat"], "start": "09:30", "end": "13:00"}]
    neighbour = by_ecd_id(network_to_fhir(minimal_doc), "M-2", "RelatedPerson")
    [ext] = neighbour["extension"]
    assert ext == {"url": codes.EXT_AVAILABILITY, "extension": [
        {"url": "daysOfWeek", "valueCode": "sat"},
        {"url": "availableStartTime", "valueTime": "09:30:00"},
        {"url": "availableEndTime", "valueTime": "13:00:00"}]}


def test_availability_of_a_professional_is_available_time(minimal_doc, by_ecd_id):
    minimal_doc["members"][2]["availability"] = [{"daysOfWeek": ["mon", "tue"], "start": "08:00"}]
    minimal_doc["members"][2]["availabilityNote"] = "Niet in de herfstvakantie."
    role = by_ecd_id(network_to_fhir(minimal_doc), "M-3", "PractitionerRole")
    assert role["availableTime"] == [{"daysOfWeek": ["mon", "tue"], "availableStartTime": "08:00:00"}]
    assert role["availabilityExceptions"] == "Niet in de herfstvakantie."


def test_professional_becomes_practitioner_keyed_on_agb_and_a_practitioner_role(bundle, of_type, by_ecd_id, url_of):
    [practitioner] = of_type(bundle, "Practitioner")
    assert practitioner["identifier"] == [{"system": codes.AGB, "value": "90012345"}]
    role = by_ecd_id(bundle, "M-3", "PractitionerRole")
    assert role["practitioner"]["reference"] == url_of(bundle, practitioner)
    assert role["organization"]["reference"] == url_of(bundle, by_ecd_id(bundle, "ORG-1", "Organization"))
    assert codings(role["specialty"]) == [(codes.DISCIPLINE, "wijkverpleegkundige")]
    entry = next(e for e in bundle["entry"] if e["resource"] is practitioner)
    assert entry["request"]["url"] == f"Practitioner?identifier={codes.AGB}|90012345"


def test_professional_with_uzi_and_no_agb_is_keyed_on_uzi(minimal_doc, of_type):
    del minimal_doc["members"][2]["agb"]
    minimal_doc["members"][2]["uzi"] = "901234567"
    bundle = network_to_fhir(minimal_doc)
    entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner")
    assert entry["request"]["url"] == f"Practitioner?identifier={codes.UZI}|901234567"


def test_professional_without_national_number_is_keyed_on_the_ecd(minimal_doc):
    del minimal_doc["members"][2]["agb"]
    bundle = network_to_fhir(minimal_doc)
    entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner")
    assert entry["resource"]["identifier"] == [{"system": f"{BASE}/practitioner", "value": "M-3"}]


def test_organisation_carries_ecd_id_agb_and_ura(minimal_doc, by_ecd_id):
    minimal_doc["organizations"][0]["ura"] = "32415678"
    org = by_ecd_id(network_to_fhir(minimal_doc), "ORG-1", "Organization")
    assert org["identifier"] == [{"system": f"{BASE}/organization", "value": "ORG-1"},
                                 {"system": codes.AGB, "value": "75750001"},
                                 {"system": codes.URA, "value": "32415678"}]


def test_network_becomes_care_team_with_every_member_as_participant(bundle, of_type, url_of, by_ecd_id):
    [team] = of_type(bundle, "CareTeam")
    assert team["identifier"] == [{"system": f"{BASE}/network", "value": "NW-1"}]
    assert team["subject"]["reference"] == url_of(bundle, of_type(bundle, "Patient")[0])
    members = [p["member"]["reference"] for p in team["participant"]]
    assert members == [url_of(bundle, by_ecd_id(bundle, m, t)) for m, t in (
        ("M-1", "RelatedPerson"), ("M-2", "RelatedPerson"), ("M-3", "PractitionerRole"),
        ("M-4", "RelatedPerson"), ("M-5", "RelatedPerson"))]
    assert team["managingOrganization"] == [{"reference": url_of(bundle, by_ecd_id(bundle, "ORG-1", "Organization"))}]


def test_participant_roles_carry_first_contact_mantelzorger_and_coordinator(minimal_doc, of_type):
    minimal_doc["members"][0]["roles"] = ["01", "100001", "coordinator"]
    [team] = of_type(network_to_fhir(minimal_doc), "CareTeam")
    assert codings(team["participant"][0]["role"]) == [
        (codes.COD472, "01"), (codes.ZIB_EXTRA_ROLES, "100001"), (codes.NETWORK_ROLE, "coordinator")]
    assert codings(team["participant"][2]["role"]) == [(codes.V3_PARTICIPATION_TYPE, "PRF")]


def test_a_multi_carer_network_does_not_claim_the_zib_care_team_profile(bundle, of_type):
    assert "meta" not in of_type(bundle, "CareTeam")[0]


def test_a_network_of_one_carer_and_one_professional_claims_nl_core_care_team(minimal_doc, of_type):
    minimal_doc["members"] = [minimal_doc["members"][1], minimal_doc["members"][2]]
    minimal_doc["organizations"] = minimal_doc["organizations"][:1]
    minimal_doc["sharing"] = []
    [team] = of_type(network_to_fhir(minimal_doc), "CareTeam")
    assert team["meta"]["profile"] == [codes.NL_CORE_CARE_TEAM]


def test_leaving_member_has_an_ended_period_on_person_and_participant(minimal_doc, of_type, by_ecd_id):
    minimal_doc["members"][1]["period"] = {"start": "2025-01-01", "end": "2026-10-31"}
    bundle = network_to_fhir(minimal_doc)
    assert by_ecd_id(bundle, "M-2", "RelatedPerson")["period"] == {"start": "2025-01-01", "end": "2026-10-31"}
    assert of_type(bundle, "CareTeam")[0]["participant"][1]["period"] == {"start": "2025-01-01", "end": "2026-10-31"}


def test_agreement_becomes_help_from_others_care_plan(bundle, by_ecd_id, url_of, of_type):
    plan = by_ecd_id(bundle, "A-1", "CarePlan")
    assert codings(plan["category"]) == [(codes.SNOMED, "243114000"), (codes.CARE_TASK, "shopping")]
    assert (plan["status"], plan["intent"], plan["title"]) == ("active", "plan", "Boodschappen")
    assert plan["careTeam"] == [{"reference": url_of(bundle, of_type(bundle, "CareTeam")[0])}]
    detail = plan["activity"][0]["detail"]
    assert detail["performer"] == [{"reference": url_of(bundle, by_ecd_id(bundle, "M-2", "RelatedPerson"))}]
    assert detail["status"] == "in-progress"


def test_agreement_by_informal_carers_is_mantelzorg_and_by_professionals_home_care(bundle, by_ecd_id):
    informal = by_ecd_id(bundle, "A-1", "CarePlan")["activity"][0]["detail"]["code"]
    professional = by_ecd_id(bundle, "A-2", "CarePlan")["activity"][0]["detail"]["code"]
    assert codings([informal]) == [(codes.SNOMED, "386229000")]
    assert codings([professional]) == [(codes.SNOMED, "60689008")]


def test_agreement_timing_is_a_fhir_timing(bundle, by_ecd_id):
    timing = by_ecd_id(bundle, "A-1", "CarePlan")["activity"][0]["detail"]["scheduledTiming"]
    assert timing == {"repeat": {"dayOfWeek": ["sat"], "timeOfDay": ["10:00:00"], "frequency": 1, "period": 1.0,
                                 "periodUnit": "wk"}}


def test_revoked_agreement_has_a_cancelled_activity(minimal_doc, by_ecd_id):
    minimal_doc["agreements"][0]["status"] = "revoked"
    plan = by_ecd_id(network_to_fhir(minimal_doc), "A-1", "CarePlan")
    assert (plan["status"], plan["activity"][0]["detail"]["status"]) == ("revoked", "cancelled")


def test_agreement_points_at_its_goals(bundle, by_ecd_id, url_of):
    assert by_ecd_id(bundle, "A-2", "CarePlan")["goal"] == [{"reference": url_of(bundle, by_ecd_id(bundle, "G-1", "Goal"))}]


def test_goal_becomes_goal_of_the_client(minimal_doc, by_ecd_id, of_type, url_of):
    minimal_doc["goals"][0].update(start="2026-01-01", due="2026-12-31", lifecycleStatus="on-hold")
    bundle = network_to_fhir(minimal_doc)
    goal = by_ecd_id(bundle, "G-1", "Goal")
    assert goal["description"] == {"text": "Veilig thuis wonen."}
    assert (goal["lifecycleStatus"], goal["startDate"], goal["target"]) == ("on-hold", "2026-01-01", [{"dueDate": "2026-12-31"}])
    assert goal["subject"]["reference"] == url_of(bundle, of_type(bundle, "Patient")[0])


def test_logbook_entry_becomes_communication_to_the_care_team_about_the_care_plan(bundle, by_ecd_id, url_of, of_type):
    note = by_ecd_id(bundle, "L-1", "Communication")
    assert note["status"] == "completed"
    assert note["recipient"] == [{"reference": url_of(bundle, of_type(bundle, "CareTeam")[0])}]
    assert note["sender"]["reference"] == url_of(bundle, by_ecd_id(bundle, "M-2", "RelatedPerson"))
    assert note["about"] == [{"reference": url_of(bundle, by_ecd_id(bundle, "A-1", "CarePlan"))}]
    assert note["payload"] == [{"contentString": "Boodschappen gedaan."}]
    assert note["sent"] == "2026-11-14T12:40:00+01:00"
    assert codings(note["category"]) == [(codes.LOGBOOK_TOPIC, "other")]


def test_logbook_entry_by_the_client_is_sent_by_the_patient(minimal_doc, by_ecd_id, of_type, url_of):
    minimal_doc["logbook"][0]["author"] = "client"
    bundle = network_to_fhir(minimal_doc)
    assert by_ecd_id(bundle, "L-1")["sender"]["reference"] == url_of(bundle, of_type(bundle, "Patient")[0])


def test_logbook_entry_by_a_professional_is_sent_by_the_practitioner_role(minimal_doc, by_ecd_id, url_of):
    minimal_doc["logbook"][0]["author"] = "M-3"
    bundle = network_to_fhir(minimal_doc)
    assert by_ecd_id(bundle, "L-1")["sender"]["reference"] == url_of(bundle, by_ecd_id(bundle, "M-3", "PractitionerRole"))


def test_full_urls_are_uuid5_of_the_identifier(bundle):
    for entry in bundle["entry"]:
        resource = entry["resource"]
        key = next(i for i in resource["identifier"] if entry["request"]["url"].endswith(f"{i['system']}|{i['value']}"))
        assert entry["fullUrl"] == f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key['system'] + '|' + key['value'])}"


def test_the_same_ecd_id_of_a_different_kind_gets_a_different_resource(minimal_doc):
    minimal_doc["goals"][0]["id"] = "A-1"  # an ECD may number goals and agreements alike
    minimal_doc["agreements"][1]["goals"] = ["A-1"]
    bundle = network_to_fhir(minimal_doc)
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
