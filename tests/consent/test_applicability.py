"""Which Consents count at all: active, patient-privacy, this patient."""
from consent_builders import R1_ACTOR, RT, consent, for_r1, importer_consent, request, resource

from consent import decide, explain


def test_no_consent_means_deny():
    decision = decide([], request(), resource())
    assert decision.verdict == "deny"
    assert decision.consent is None and decision.provision is None
    assert "no applicable consent" in decision.reason


def test_inactive_consent_grants_nothing_and_says_so():
    for status in ("inactive", "draft", "proposed", "rejected", "entered-in-error", None):
        c1 = importer_consent()
        c1["status"] = status
        assert decide([c1], request(), resource()).verdict == "deny"
    lines = explain([c1], request(), resource())
    assert any("not 'active'" in line for line in lines)


def test_consent_with_another_scope_grants_nothing():
    c1 = importer_consent()
    c1["scope"]["coding"][0]["code"] = "treatment"
    decision = decide([c1], request(), resource())
    assert decision.verdict == "deny"
    assert any("not patient-privacy" in note for note in decision.notes)


def test_consent_without_scope_grants_nothing():
    c1 = importer_consent()
    del c1["scope"]
    assert decide([c1], request(), resource()).verdict == "deny"


def test_consent_of_another_patient_is_named_as_not_applicable():
    c1 = importer_consent()
    c1["patient"]["reference"] = "Patient/p2"
    decision = decide([c1], request(), resource())
    assert decision.verdict == "deny"
    assert any("for Patient/p2" in note for note in decision.notes)


def test_versioned_references_name_the_same_patient_and_actor():
    c1 = importer_consent()
    c1["patient"]["reference"] = "Patient/p1/_history/4"
    assert decide([c1], request(actor="RelatedPerson/r1/_history/2"), resource()).verdict == "permit"


def test_revoked_consent_takes_effect_on_the_next_request():
    c1 = importer_consent()
    assert decide([c1], request(), resource()).verdict == "permit"
    c1["status"] = "inactive"
    assert decide([c1], request(), resource()).verdict == "deny"


def test_a_consent_for_another_person_does_not_help_this_one():
    for_r2 = consent({"type": "deny", "provision": [
        {"type": "permit", "actor": [{"reference": {"reference": "RelatedPerson/r2"}}]}]})
    assert decide([for_r2], request(), resource()).verdict == "deny"
    assert decide([for_r2], request(actor="RelatedPerson/r2"), resource()).verdict == "permit"


def test_non_consent_input_is_ignored():
    assert decide([{"resourceType": "Patient"}, "junk"], request(), resource()).verdict == "deny"
    assert decide([{"resourceType": "Patient"}, consent(for_r1())], request(), resource()).verdict == "permit"


def test_explain_names_the_deciding_provision_and_every_consent():
    other = importer_consent()
    other["id"], other["status"] = "c0", "inactive"
    lines = explain([importer_consent(), other], request(), resource("CareTeam"))
    assert lines[0].startswith("permit: Consent/c1 provision.provision[0]")
    assert any(line.startswith("matched: Consent/c1 provision deny") for line in lines)
    assert any("Consent/c0 grants nothing" in line for line in lines)


def test_actor_may_be_named_among_several():
    c = consent({"type": "deny", "provision": [{"type": "permit", "actor": [
        {"reference": {"reference": "RelatedPerson/r2"}}, *R1_ACTOR],
        "class": [{"system": RT, "code": "CareTeam"}]}]})
    assert decide([c], request(), resource()).verdict == "permit"
