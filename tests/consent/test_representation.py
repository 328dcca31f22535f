"""Wgbo representation: mentor, curator, guardian, written authorisation — not carers as such."""
from datetime import datetime, timezone

import pytest
from consent_builders import COD472, EXTRA

from consent import is_legal_representative, roles_of

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
OWN = "https://samenzorg.nl/fhir/CodeSystem/network-role"


def person(*codings, **extra):
    res = {"resourceType": "RelatedPerson", "id": "r1", "active": True, "patient": {"reference": "Patient/p1"},
           "relationship": [{"coding": [{"system": s, "code": c}]} for s, c in codings]}
    res.update(extra)
    return res


@pytest.mark.parametrize("code", ["03", "11", "15", "24", "3"])
def test_curator_guardian_mentor_and_legal_representative_represent(code):
    assert is_legal_representative(person((COD472, code)), "Patient/p1", NOW)


def test_written_authorisation_on_record_represents():
    assert is_legal_representative(person((OWN, "written-authorisation")), "Patient/p1", NOW)


@pytest.mark.parametrize("coding", [(EXTRA, "100001"), (COD472, "01"), (COD472, "1"), (COD472, "14"),
                                    (COD472, "04"), ("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "DAUC")])
def test_mantelzorger_first_contact_or_financial_administrator_alone_does_not_represent(coding):
    assert not is_legal_representative(person(coding), "Patient/p1", NOW)


def test_mantelzorger_daughter_who_is_also_mentor_represents():
    daughter = person((EXTRA, "100001"), ("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "DAUC"),
                      (COD472, "15"))
    assert is_legal_representative(daughter, "Patient/p1", NOW)


def test_mentor_of_another_patient_does_not_represent_this_one():
    assert not is_legal_representative(person((COD472, "15")), "Patient/p2", NOW)


def test_inactive_does_not_represent():
    assert not is_legal_representative(person((COD472, "15"), active=False), "Patient/p1", NOW)
    assert not is_legal_representative(person((COD472, "15"), active="yes"), "Patient/p1", NOW)


def test_a_representative_without_an_active_element_is_active():
    # FHIR: an absent boolean is not false.
    mentor = person((COD472, "15"))
    del mentor["active"]
    assert is_legal_representative(mentor, "Patient/p1", NOW)


def test_mentorship_outside_its_period_does_not_represent():
    ended = person((COD472, "15"), period={"start": "2020-01-01", "end": "2025-12-31"})
    future = person((COD472, "15"), period={"start": "2027-01-01"})
    current = person((COD472, "15"), period={"start": "2026-01-01", "end": "2026-06-01"})
    assert not is_legal_representative(ended, "Patient/p1", NOW)
    assert not is_legal_representative(future, "Patient/p1", NOW)
    assert is_legal_representative(current, "Patient/p1", NOW)


def test_malformed_period_does_not_represent():
    assert not is_legal_representative(person((COD472, "15"), period={"start": "ooit"}), "Patient/p1", NOW)


def test_not_a_related_person_does_not_represent():
    assert not is_legal_representative({"resourceType": "Patient", "id": "p1"}, "Patient/p1", NOW)


def test_roles_of_gives_normalised_codings_for_access_requests():
    assert roles_of(person((COD472, "1"), (EXTRA, "100001"))) == {(COD472, "01"), (EXTRA, "100001")}
