"""match(): the ids behind conditional create, update and delete."""
import pytest
from sqlalchemy import false

from gateway.errors import BadRequest
from gateway.storage.tables import resources

BSN = "http://fhir.nl/fhir/NamingSystem/bsn"


def patient(pid, bsn=None, **extra):
    res = {"resourceType": "Patient", "id": pid, "name": [{"family": "Jansen"}]}
    if bsn:
        res["identifier"] = [{"system": BSN, "value": bsn}]
    return {**res, **extra}


def test_match_finds_a_patient_by_identifier_system_and_value(store):
    store.put(patient("a", "111"))
    store.put(patient("b", "222"))
    assert store.match("Patient", f"identifier={BSN}|111") == ["a"]


def test_match_returns_up_to_the_limit_so_callers_can_detect_ambiguity(store):
    for pid in "abc":
        store.put(patient(pid))
    assert len(store.match("Patient", "family=jansen")) == 2
    assert len(store.match("Patient", "family=jansen", limit=5)) == 3


def test_match_finds_nothing_when_nothing_matches(store):
    store.put(patient("a", "111"))
    assert store.match("Patient", f"identifier={BSN}|999") == []


def test_match_ignores_deleted_resources(store):
    store.put(patient("a", "111"))
    store.delete("Patient", "a")
    assert store.match("Patient", f"identifier={BSN}|111") == []


def test_match_by_identifier_works_on_every_type_the_importer_updates(store):
    for rtype in ("RelatedPerson", "Practitioner", "PractitionerRole", "Organization", "CareTeam",
                  "CarePlan", "Goal", "Consent", "Communication"):
        store.put({"resourceType": rtype, "id": f"{rtype.lower()}-1",
                   "identifier": [{"system": "urn:ecd", "value": f"{rtype}-42"}]})
        assert store.match(rtype, f"identifier=urn:ecd|{rtype}-42") == [f"{rtype.lower()}-1"], rtype


def test_match_ands_several_parameters(store):
    store.put(patient("a", "111", gender="female"))
    store.put(patient("b", "111", gender="male"))
    assert store.match("Patient", f"identifier={BSN}|111&gender=male") == ["b"]


def test_match_applies_the_restrict_hook(store):
    store.put(patient("a", "111"))
    assert store.match("Patient", f"identifier={BSN}|111", restrict=lambda t: false()) == []
    assert store.match("Patient", f"identifier={BSN}|111",
                       restrict=lambda t: resources.c.res_id == "a") == ["a"]


@pytest.mark.parametrize("query", [
    "", "_format=json", "nonsense=1", "identifier:below=1", "birthdate=yesterday", "_count=1",
    "_sort=family", "_include=Patient:general-practitioner", "family=",
])
def test_match_refuses_unknown_malformed_empty_or_non_filter_parameters(store, query):
    with pytest.raises(BadRequest):
        store.match("Patient", query)
