"""Fail closed, narrowly: what the engine does not understand never grants, and
takes away no more than it could mean (README "Fail closed, narrowly")."""
import copy

import pytest
from consent_builders import ACTION, R1_ACTOR, RT, consent, for_r1, importer_consent, request, resource

from consent import Verdict, compile_filter, decide, explain, start_operation

SCT = "http://snomed.info/sct"
CARETEAM = [{"system": RT, "code": "CareTeam"}]

# Criteria (and elements) a provision may carry that this engine cannot read.
BAD_CRITERIA = {
    "unknown action code system": {"action": [{"coding": [{"system": "urn:x-acme", "code": "read"}]}]},
    "unknown action code": {"action": [{"coding": [{"system": ACTION, "code": "peek"}]}]},
    "action given as text only": {"action": [{"text": "read"}]},
    "malformed period": {"period": {"start": "1 maart 2026"}},
    "period ending before it starts": {"period": {"start": "2026-03-02", "end": "2026-03-01"}},
    "time without zone": {"period": {"start": "2026-03-01T10:00:00"}},
    "impossible date": {"period": {"end": "2026-02-30"}},
    "malformed data period": {"dataPeriod": {"start": "yesterday"}},
    "unknown data meaning": {"data": [{"meaning": "everything", "reference": {"reference": "Goal/g1"}}]},
    "data reference by identifier": {"data": [{"meaning": "instance", "reference": {"identifier": {"value": "42"}}}]},
    "actor by identifier": {"actor": [{"reference": {"identifier": {"value": "r1"}}}]},
    "actor with neither role nor reference": {"actor": [{}]},
    "actor role in an unknown system": {"actor": [{"role": {"coding": [{"system": "urn:x-acme", "code": "niece"}]}}]},
    "unknown class system": {"class": [{"system": "urn:oid:1.2.3", "code": "X"}]},
    "code without system": {"code": [{"coding": [{"code": "386229000"}]}]},
    "code as text only": {"code": [{"text": "mantelzorg"}]},
    "code in an unknown system": {"code": [{"coding": [{"system": "urn:x-local", "code": "a"}]}]},
    "security label without system": {"securityLabel": [{"code": "R"}]},
    "security label in an unknown system": {"securityLabel": [{"system": "urn:x-local", "code": "secret"}]},
    "purpose in an unknown system": {"purpose": [{"system": "urn:x-local", "code": "care"}]},
    "empty class list": {"class": []},
    "criterion shape unknown": {"class": {"system": RT, "code": "CareTeam"}},
    "unknown element": {"when": "weekdays"},
    "modifier extension": {"modifierExtension": [{"url": "urn:x", "valueBoolean": True}]},
}

# A Consent whose shape as a whole cannot be read.
BROKEN_CONSENTS = {
    "unknown root provision type": {"type": "maybe"},
    "missing root provision type": {"provision": [{"type": "permit", "actor": R1_ACTOR}]},
    "malformed root period": {"type": "deny", "period": {"start": "morgen"},
                              "provision": [{"type": "permit", "actor": R1_ACTOR}]},
    "provision not an object": {"type": "deny", "provision": ["permit r1"]},
    "sub-provisions not a list": {"type": "deny", "provision": {"type": "permit", "actor": R1_ACTOR}},
}


def broken_permit(case):
    """A permit for r1 with one criterion we cannot read."""
    permit = {"type": "permit", "actor": R1_ACTOR, **copy.deepcopy(BAD_CRITERIA[case])}
    return consent({"type": "deny", "provision": [permit]}, cid="bad")


@pytest.mark.parametrize("case", sorted(BAD_CRITERIA))
def test_a_permit_not_understood_grants_nothing_and_says_why(case):
    bad = broken_permit(case)
    decision = decide([bad], request(), resource())
    assert decision.verdict == "deny"
    assert start_operation([bad], request()) is Verdict.REJECT
    assert any("provision.provision[0]" in line and "grants nothing" in line for line in decision.not_understood)
    assert decision.not_understood[-1] in explain([bad], request(), resource())


@pytest.mark.parametrize("case", sorted(BAD_CRITERIA))
def test_a_permit_not_understood_takes_nothing_from_other_grants(case):
    # Before: any unreadable part of any Consent denied everyone everything.
    grant = importer_consent()   # permits r1 CareTeam, under a deny base rule
    assert decide([grant, broken_permit(case)], request(), resource()).verdict == "permit"
    assert decide([broken_permit(case), grant], request(), resource()).verdict == "permit"


@pytest.mark.parametrize("case", sorted(BAD_CRITERIA))
def test_a_deny_not_understood_applies_as_if_it_matched_and_ignores_its_exceptions(case):
    deny = {"type": "deny", **copy.deepcopy(BAD_CRITERIA[case]),
            "provision": [{"type": "permit", "actor": R1_ACTOR, "class": CARETEAM}]}
    c = consent({"type": "permit", "actor": R1_ACTOR, "provision": [deny]}, cid="bad")
    decision = decide([c], request(), resource())
    assert (decision.verdict, decision.provision) == ("deny", "provision.provision[0]")
    for rtype in ("CareTeam", "Goal", "Communication"):
        assert decide([c], request(), resource(rtype, "x")).verdict == "deny"
    assert any("applies as if" in line for line in decision.not_understood)


def test_a_deny_not_understood_keeps_its_specificity():
    # The deny for r1 names an actor and an (unreadable) action: (1, 2), as
    # specific as the grant in the other Consent, so it still wins the tie.
    deny = consent({"type": "permit", "actor": R1_ACTOR, "provision": [
        {"type": "deny", "actor": R1_ACTOR, **BAD_CRITERIA["unknown action code"]}]}, cid="bad")
    grant = consent({"type": "deny", "provision": [{"type": "permit", "actor": R1_ACTOR, "class": CARETEAM}]})
    assert decide([grant, deny], request(), resource()).verdict == "deny"
    without_action = consent({"type": "permit", "actor": R1_ACTOR, "provision": [
        {"type": "deny", "actor": R1_ACTOR}]}, cid="ok")
    assert decide([grant, without_action], request(), resource()).verdict == "permit"


def test_denies_under_a_part_not_understood_still_apply():
    # Ignoring this deny would let the equally specific grant through.
    tree = {"type": "deny", **BAD_CRITERIA["unknown action code"], "provision": [
        {"type": "deny", "actor": R1_ACTOR, "class": CARETEAM}]}
    grant = consent({"type": "deny", "provision": [{"type": "permit", "actor": R1_ACTOR, "class": CARETEAM}]})
    assert decide([grant, consent(tree, cid="bad")], request(), resource()).verdict == "deny"
    assert decide([grant, consent(tree, cid="bad")], request(), resource("Goal", "g1")).verdict == "deny"


def test_a_sub_provision_of_unknown_type_is_read_as_a_deny():
    c = consent({"type": "deny", "provision": [{"type": "permit", "actor": R1_ACTOR, "provision": [
        {"type": "maybe", "class": CARETEAM}]}]})
    assert decide([c], request(), resource()).verdict == "deny"
    assert decide([c], request(), resource("Goal", "g1")).verdict == "permit"
    assert any("read as a deny" in line for line in decide([c], request(), resource()).not_understood)


def test_the_niece_with_an_unknown_action_locks_out_nobody_else():
    niece, daughter = "RelatedPerson/niece", "RelatedPerson/r1"
    c = consent({"type": "deny", "provision": [
        {"type": "permit", "actor": R1_ACTOR, "class": CARETEAM},
        {"type": "permit", "actor": [{"reference": {"reference": niece}}],
         "action": [{"coding": [{"system": ACTION, "code": "peek"}]}]}]})
    assert decide([c], request(daughter), resource()).verdict == "permit"
    assert decide([c], request(niece), resource()).verdict == "deny"
    assert compile_filter([c], request(niece)) == compile_filter([], request(niece))
    lines = explain([c], request(niece), resource())
    assert any("provision.provision[1].action[0]" in line and "peek" in line for line in lines)


@pytest.mark.parametrize("case", sorted(BROKEN_CONSENTS))
def test_a_consent_unreadable_as_a_whole_denies_everyone_above_every_grant(case):
    bad = consent(copy.deepcopy(BROKEN_CONSENTS[case]), cid="bad")
    decision = decide([bad], request(), resource())
    assert (decision.verdict, decision.consent) == ("deny", "Consent/bad")
    assert "not understood" in decision.reason
    assert start_operation([bad], request()) is Verdict.REJECT
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


def test_explanation_names_where_and_how_the_consent_was_read():
    c1 = importer_consent()
    c1["provision"]["provision"][1]["action"] = [{"coding": [{"system": "urn:x-acme", "code": "read"}]}]
    lines = explain([c1], request(), resource("CarePlan", "cp7"))
    assert lines[0].startswith("deny")
    line = next(x for x in lines if "provision.provision[1].action[0]" in x)
    assert "urn:x-acme" in line and "grants nothing" in line
    # The other provisions of the same Consent still work.
    assert decide([c1], request(), resource()).verdict == "permit"


def test_not_understood_inactive_consent_is_just_inactive():
    bad = consent({"type": "maybe"}, status="inactive")
    assert decide([bad, importer_consent()], request(), resource()).verdict == "permit"


def test_not_understood_consent_of_another_patient_is_ignored():
    bad = consent({"type": "maybe"}, patient={"reference": "Patient/p2"})
    assert decide([bad, importer_consent()], request(), resource()).verdict == "permit"


def test_extensions_and_ids_do_not_make_a_provision_unreadable():
    p = for_r1(id="p-1", extension=[{"url": "urn:x-note", "valueString": "agreed at kitchen table"}])
    decision = decide([consent(p)], request(), resource())
    assert decision.verdict == "permit" and not decision.not_understood


def test_codings_in_known_systems_are_understood():
    known = for_r1(code=[{"coding": [{"system": SCT, "code": "a"}]}],
                   securityLabel=[{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}],
                   purpose=[{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}])
    assert not decide([consent(known)], request(), resource()).not_understood
