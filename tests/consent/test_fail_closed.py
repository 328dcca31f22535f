"""A Consent the engine cannot fully understand denies, outranks every grant, and says why."""
import copy

import pytest
from consent_builders import ACTION, R1_ACTOR, RT, consent, for_r1, importer_consent, request, resource

from consent import Verdict, decide, explain, start_operation

BAD_PROVISIONS = {
    "unknown provision type": {"type": "maybe"},
    "missing provision type": {"provision": [{"type": "permit", "actor": R1_ACTOR}]},
    "unknown action code system": for_r1(action=[{"coding": [{"system": "urn:x-acme", "code": "read"}]}]),
    "unknown action code": for_r1(action=[{"coding": [{"system": ACTION, "code": "peek"}]}]),
    "action given as text only": for_r1(action=[{"text": "read"}]),
    "malformed period": for_r1(period={"start": "1 maart 2026"}),
    "period ending before it starts": for_r1(period={"start": "2026-03-02", "end": "2026-03-01"}),
    "time without zone": for_r1(period={"start": "2026-03-01T10:00:00"}),
    "impossible date": for_r1(period={"end": "2026-02-30"}),
    "malformed data period": for_r1(dataPeriod={"start": "yesterday"}),
    "unknown data meaning": for_r1(data=[{"meaning": "everything", "reference": {"reference": "Goal/g1"}}]),
    "data reference by identifier": for_r1(data=[{"meaning": "instance",
                                                  "reference": {"identifier": {"value": "42"}}}]),
    "actor by identifier": {"type": "permit", "actor": [{"reference": {"identifier": {"value": "r1"}}}]},
    "actor with neither role nor reference": {"type": "permit", "actor": [{}]},
    "unknown class system": for_r1(**{"class": [{"system": "urn:oid:1.2.3", "code": "X"}]}),
    "code without system": for_r1(code=[{"coding": [{"code": "386229000"}]}]),
    "code as text only": for_r1(code=[{"text": "mantelzorg"}]),
    "security label without system": for_r1(securityLabel=[{"code": "R"}]),
    "empty class list": for_r1(**{"class": []}),
    "criterion shape unknown": for_r1(**{"class": {"system": RT, "code": "CareTeam"}}),
    "unknown element": for_r1(when="weekdays"),
    "modifier extension": for_r1(modifierExtension=[{"url": "urn:x", "valueBoolean": True}]),
}


@pytest.mark.parametrize("case", sorted(BAD_PROVISIONS))
def test_consent_not_understood_denies_with_reason(case):
    bad = consent(BAD_PROVISIONS[case], cid="bad")
    decision = decide([bad], request(), resource())
    assert decision.verdict == "deny"
    assert decision.consent == "Consent/bad"
    assert "not understood" in decision.reason
    assert start_operation([bad], request()) is Verdict.REJECT


@pytest.mark.parametrize("case", sorted(BAD_PROVISIONS))
def test_consent_not_understood_outranks_a_valid_grant(case):
    bad = consent(copy.deepcopy(BAD_PROVISIONS[case]), cid="bad")
    assert decide([importer_consent(), bad], request(), resource()).verdict == "deny"
    assert decide([bad, importer_consent()], request(), resource()).verdict == "deny"


def test_malformed_consent_datetime_denies():
    c1 = importer_consent()
    c1["dateTime"] = "2026-03-01 10:00"
    decision = decide([c1], request(), resource())
    assert decision.verdict == "deny"
    assert "Consent.dateTime" in decision.reason


def test_consent_level_modifier_extension_denies():
    c1 = importer_consent()
    c1["modifierExtension"] = [{"url": "urn:x-only-on-sundays", "valueBoolean": True}]
    assert decide([c1], request(), resource()).verdict == "deny"


def test_reason_names_where_the_consent_was_not_understood():
    c1 = importer_consent()
    c1["provision"]["provision"][1]["action"] = [{"coding": [{"system": "urn:x-acme", "code": "read"}]}]
    lines = explain([c1], request(), resource())
    assert "provision.provision[1].action[0]" in lines[0]
    assert "urn:x-acme" in lines[0]


def test_not_understood_inactive_consent_is_just_inactive():
    bad = consent({"type": "maybe"}, status="inactive")
    assert decide([bad, importer_consent()], request(), resource()).verdict == "permit"


def test_not_understood_consent_of_another_patient_is_ignored():
    bad = consent({"type": "maybe"}, patient={"reference": "Patient/p2"})
    assert decide([bad, importer_consent()], request(), resource()).verdict == "permit"


def test_extensions_and_ids_do_not_make_a_provision_unreadable():
    p = for_r1(id="p-1", extension=[{"url": "urn:x-note", "valueString": "agreed at kitchen table"}])
    assert decide([consent(p)], request(), resource()).verdict == "permit"
