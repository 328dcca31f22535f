"""index_rows: the rows a resource contributes to each index table (pure, no database)."""
from datetime import datetime

from gateway.search import REGISTRY, index_rows
from gateway.search.values import date_range, normalise, split_reference


def rows(resource, kind, param):
    return [{k: v for k, v in r.items() if k != "param"}
            for r in index_rows(resource)[kind] if r["param"] == param]


PATIENT = {
    "resourceType": "Patient", "id": "p1",
    "meta": {"tag": [{"system": "urn:tags", "code": "demo"}], "security": [{"code": "R"}],
             "profile": ["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]},
    "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911120"}],
    "name": [{"family": "Çelik-de Vriës", "given": ["Anna", "Maria"], "prefix": ["Mevr."]}],
    "telecom": [{"system": "phone", "value": "0612345678"}, {"system": "email", "value": "anna@example.nl"}],
    "gender": "female", "birthDate": "1938-04", "active": True,
    "address": [{"line": ["Dorpsstraat 1"], "city": "Ede", "postalCode": "6711 AA"}],
    "generalPractitioner": [{"reference": "Practitioner/gp1"}, {"reference": "#contained"}],
}


def test_every_table_is_present_even_when_empty():
    assert set(index_rows({"resourceType": "Goal"})) == {"token", "string", "reference", "date", "uri"}


def test_unknown_resource_types_index_nothing():
    assert all(v == [] for v in index_rows({"resourceType": "Basic", "id": "x"}).values())


def test_identifier_is_a_token_with_system_and_value():
    assert rows(PATIENT, "token", "identifier") == [
        {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "code": "999911120", "text": None}]


def test_booleans_and_codes_are_tokens_without_system():
    assert rows(PATIENT, "token", "active") == [{"system": None, "code": "true", "text": None}]
    assert rows(PATIENT, "token", "gender") == [{"system": None, "code": "female", "text": None}]


def test_contact_points_are_tokens_filtered_by_their_system_for_phone_and_email():
    assert [r["code"] for r in rows(PATIENT, "token", "telecom")] == ["0612345678", "anna@example.nl"]
    assert [r["code"] for r in rows(PATIENT, "token", "phone")] == ["0612345678"]
    assert [r["code"] for r in rows(PATIENT, "token", "email")] == ["anna@example.nl"]


def test_meta_tags_security_and_profiles_are_indexed():
    assert rows(PATIENT, "token", "_tag") == [{"system": "urn:tags", "code": "demo", "text": None}]
    assert rows(PATIENT, "token", "_security") == [{"system": None, "code": "R", "text": None}]
    assert rows(PATIENT, "uri", "_profile") == [{"uri": "http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"}]


def test_human_names_index_every_part_normalised_and_as_written():
    name = rows(PATIENT, "string", "name")
    assert {r["value_norm"] for r in name} == {"celik-de vries", "anna", "maria", "mevr."}
    assert {"value_norm": "celik-de vries", "value_exact": "Çelik-de Vriës"} in name
    assert [r["value_norm"] for r in rows(PATIENT, "string", "family")] == ["celik-de vries"]
    assert [r["value_norm"] for r in rows(PATIENT, "string", "given")] == ["anna", "maria"]


def test_addresses_index_their_parts():
    assert {r["value_norm"] for r in rows(PATIENT, "string", "address")} == {"dorpsstraat 1", "ede", "6711 aa"}
    assert rows(PATIENT, "string", "address-city") == [{"value_norm": "ede", "value_exact": "Ede"}]


def test_partial_dates_cover_their_whole_period():
    # A date is a Dutch day (consent.dates); in 1938 Amsterdam was 20 minutes ahead of UTC.
    assert rows(PATIENT, "date", "birthdate") == [{"low": datetime(1938, 3, 31, 23, 40),
                                                   "high": datetime(1938, 4, 30, 23, 40)}]


def test_references_keep_type_and_id_and_skip_contained_ones():
    assert rows(PATIENT, "reference", "general-practitioner") == [
        {"target_type": "Practitioner", "target_id": "gp1", "target_url": None}]


def test_codeable_concepts_index_each_coding_and_their_text():
    plan = {"resourceType": "CarePlan", "category": [{
        "coding": [{"system": "http://snomed.info/sct", "code": "734163000", "display": "Care plan"},
                   {"system": "urn:local", "code": "zorgplan"}],
        "text": "Zorgplan thuis"}]}
    assert rows(plan, "token", "category") == [
        {"system": "http://snomed.info/sct", "code": "734163000", "text": "care plan"},
        {"system": "urn:local", "code": "zorgplan", "text": None},
        {"system": None, "code": None, "text": "zorgplan thuis"},
    ]


def test_periods_are_ranges_with_open_ends_unbounded():
    team = {"resourceType": "CareTeam", "period": {"start": "2026-03-05"}}
    assert rows(team, "date", "date") == [{"low": datetime(2026, 3, 4, 23), "high": None}]
    ended = {"resourceType": "CareTeam", "period": {"end": "2026-03"}}  # summer time from 29 March
    assert rows(ended, "date", "date") == [{"low": None, "high": datetime(2026, 3, 31, 22)}]


def test_timing_events_and_bounds_are_indexed_for_activity_date():
    plan = {"resourceType": "CarePlan", "activity": [{"detail": {"scheduledTiming": {
        "event": ["2026-03-05T09:00:00+01:00"],
        "repeat": {"boundsPeriod": {"start": "2026-03-01", "end": "2026-03-31"}}}}}]}
    assert rows(plan, "date", "activity-date") == [
        {"low": datetime(2026, 3, 5, 8, 0), "high": datetime(2026, 3, 5, 8, 0, 1)},
        {"low": datetime(2026, 2, 28, 23), "high": datetime(2026, 3, 31, 22)},
    ]


def test_patient_parameter_keeps_only_references_to_patients():
    plan = {"resourceType": "CarePlan", "subject": {"reference": "Group/g1"}}
    assert rows(plan, "reference", "subject") == [{"target_type": "Group", "target_id": "g1", "target_url": None}]
    assert rows(plan, "reference", "patient") == []


def test_audit_event_patient_comes_from_agents_and_entities():
    event = {"resourceType": "AuditEvent",
             "agent": [{"who": {"reference": "Patient/p1"}}, {"who": {"reference": "Practitioner/x"}}],
             "entity": [{"what": {"reference": "Patient/p2"}}, {"what": {"reference": "CarePlan/c"}}]}
    assert [r["target_id"] for r in rows(event, "reference", "patient")] == ["p1", "p2"]


def test_consent_provision_fields_are_indexed():
    consent = {"resourceType": "Consent", "provision": {
        "period": {"start": "2026-01-01", "end": "2026-12-31"},
        "actor": [{"role": {"text": "carer"}, "reference": {"reference": "RelatedPerson/r1"}}],
        "action": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}],
        "securityLabel": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}],
        "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}]}}
    assert rows(consent, "reference", "actor")[0]["target_id"] == "r1"
    assert rows(consent, "token", "action")[0]["code"] == "access"
    assert rows(consent, "token", "security-label")[0]["code"] == "N"
    assert rows(consent, "token", "purpose")[0]["code"] == "TREAT"
    assert rows(consent, "date", "period") == [{"low": datetime(2025, 12, 31, 23), "high": datetime(2026, 12, 31, 23)}]


def test_repeated_values_give_one_row():
    patient = {"resourceType": "Patient", "name": [{"given": ["Jan"]}, {"given": ["Jan"]}]}
    assert len(rows(patient, "string", "given")) == 1


def test_long_strings_are_truncated_for_the_index_but_kept_whole_for_exact_match():
    org = {"resourceType": "Organization", "name": "Zorg" * 100}
    [row] = rows(org, "string", "name")
    assert len(row["value_norm"]) == 255 and row["value_exact"] == "Zorg" * 100


def test_normalise_strips_accents_and_case():
    assert normalise("  ÉÉN Straße ") == "een strasse"


def test_date_ranges_follow_the_precision_given():
    # Without a zone: Dutch local time (CET in winter, CEST in summer), as naive UTC.
    assert date_range("2026") == (datetime(2025, 12, 31, 23), datetime(2026, 12, 31, 23))
    assert date_range("2026-12") == (datetime(2026, 11, 30, 23), datetime(2026, 12, 31, 23))
    assert date_range("2026-07-01") == (datetime(2026, 6, 30, 22), datetime(2026, 7, 1, 22))
    assert date_range("2026-03-29") == (datetime(2026, 3, 28, 23), datetime(2026, 3, 29, 22))  # a 23-hour day
    assert date_range("2026-03-05T10:00") == (datetime(2026, 3, 5, 9), datetime(2026, 3, 5, 9, 1))
    assert date_range("0001")[0] == datetime.min and date_range("9999")[1] is None
    assert date_range("2026-03-05T10:00:00.5Z") == (datetime(2026, 3, 5, 10, 0, 0, 500000),
                                                   datetime(2026, 3, 5, 10, 0, 0, 600000))
    assert date_range("2026-03-05T10:00:00-02:00")[0] == datetime(2026, 3, 5, 12)
    assert date_range("2026-03-05T10:00:00 02:00")[0] == datetime(2026, 3, 5, 8)  # "+" decoded as space
    assert date_range("9999")[1] is None
    assert date_range("2026-13") is None and date_range("yesterday") is None


def test_absolute_references_keep_the_url_and_the_type_and_id():
    assert split_reference("Patient/1") == ("Patient", "1", None)
    assert split_reference("Patient/1/_history/3") == ("Patient", "1", None)
    assert split_reference("http://x/fhir/Patient/1") == ("Patient", "1", "http://x/fhir/Patient/1")
    assert split_reference("urn:uuid:0b5b") == (None, None, "urn:uuid:0b5b")
    assert split_reference("#c1") == (None, None, None)


def test_every_type_with_an_identifier_element_has_an_identifier_parameter():
    for rtype in ("Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization",
                  "CareTeam", "CarePlan", "Goal", "Consent", "Communication"):
        assert REGISTRY[rtype]["identifier"].type == "token", rtype


def test_one_parameters_rows_are_what_the_whole_extraction_holds_for_it():
    """`param_rows` (a compartment's references, an event's agents) must equal `index_rows` for that
    parameter on every demo network's resources and on an AuditEvent."""
    import json
    from pathlib import Path

    from gateway import audit
    from gateway.policy import COMPARTMENT, compartment_of
    from gateway.search.extract import param_rows
    from mappings import network_to_fhir

    docs = sorted((Path(__file__).parents[2] / "fixtures" / "networks").glob("*.json"))
    resources = [e["resource"] for d in docs for e in network_to_fhir(json.loads(d.read_text()))["entry"]]
    resources.append({"id": "a", **audit.audit_event("RelatedPerson/rp", "app", audit.Disclosure(
        "read", patients=["Patient/p"], resources=["CarePlan/c"], consents=["Consent/k"]))})
    checked = 0
    for resource in resources:
        whole = index_rows(resource)
        for param in REGISTRY.get(resource["resourceType"], {}).values():
            if param.column is None:
                assert param_rows(resource, param) == [r for r in whole[param.type] if r["param"] == param.name]
                checked += 1
        if resource["resourceType"] in COMPARTMENT:
            assert compartment_of(resource) == compartment_of(resource, whole["reference"])
    assert len(docs) >= 6 and checked > 1000
