"""Every provision criterion, each on its own."""
from datetime import datetime, timezone

from consent_builders import ACTION, NOW, OWN_ACTION, RT, consent, for_r1, request, resource

from consent import CONTRIBUTE, ResourceFacts, decide, facts_of

SCT = "http://snomed.info/sct"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
HIDDEN = {"system": "https://samenzorg.nl/fhir/CodeSystem/label", "code": "hidden-from-family"}


def verdict(provision, res, req=None, **kw):
    return decide([consent(provision, **kw)], req or request(), res).verdict


def test_class_by_resource_type():
    p = for_r1(**{"class": [{"system": RT, "code": "Goal"}]})
    assert verdict(p, resource("Goal", "g1")) == "permit"
    assert verdict(p, resource("CarePlan", "cp1")) == "deny"


def test_class_by_core_profile_url_is_understood():
    for coding in ({"system": "http://hl7.org/fhir/StructureDefinition", "code": "Goal"},
                   {"system": "http://hl7.org/fhir/StructureDefinition/Goal"},
                   {"code": "http://hl7.org/fhir/StructureDefinition/Goal"}):
        p = for_r1(**{"class": [coding]})
        assert verdict(p, resource("Goal", "g1")) == "permit", coding
        assert verdict(p, resource("CareTeam")) == "deny", coding


def test_action_access_does_not_grant_contribute():
    p = for_r1(action=[{"coding": [{"system": ACTION, "code": "access"}]}])
    assert verdict(p, resource()) == "permit"
    assert verdict(p, resource(), request(action=CONTRIBUTE)) == "deny"


def test_provision_without_action_covers_every_action():
    p = for_r1()
    assert verdict(p, resource(), request(action=CONTRIBUTE)) == "permit"


def test_contribute_action_is_our_own_documented_code():
    p = for_r1(action=[{"coding": [{"system": OWN_ACTION, "code": "contribute"}]}])
    assert verdict(p, resource("Communication", "m1"), request(action=CONTRIBUTE)) == "permit"


def test_code_matches_the_resources_category_or_topic():
    care = {"coding": [{"system": SCT, "code": "386229000"}]}
    p = for_r1(code=[care])
    plan = resource("CarePlan", "cp1", category=[care])
    assert verdict(p, plan) == "permit"
    assert verdict(p, resource("CarePlan", "cp2")) == "deny"
    note = resource("Communication", "m1", topic=care)
    assert verdict(p, note) == "permit"


def test_code_deny_hides_one_kind_of_activity():
    home = {"coding": [{"system": SCT, "code": "60689008"}]}
    p = for_r1(provision=[{"type": "deny", "code": [home]}])
    plain = resource("CarePlan", "cp1")
    homecare = resource("CarePlan", "cp2", activity=[{"detail": {"code": home, "status": "scheduled"}}])
    assert verdict(p, plain) == "permit"
    assert verdict(p, homecare) == "deny"


def test_security_label_deny_hides_labelled_resources():
    p = for_r1(provision=[{"type": "deny", "securityLabel": [HIDDEN]}])
    assert verdict(p, resource()) == "permit"
    assert verdict(p, resource(meta={"security": [HIDDEN]})) == "deny"


def test_confidentiality_label_covers_that_level_and_lower():
    p = for_r1(securityLabel=[{"system": CONF, "code": "N"}])
    for code, expected in (("L", "permit"), ("N", "permit"), ("R", "deny"), ("V", "deny")):
        res = resource(meta={"security": [{"system": CONF, "code": code}]})
        assert verdict(p, res) == expected, code
    assert verdict(p, resource()) == "deny"


def test_purpose_must_match_the_stated_purpose():
    care = {"system": PURPOSE, "code": "TREAT"}
    p = for_r1(purpose=[care])
    assert verdict(p, resource(), request(purpose=(PURPOSE, "TREAT"))) == "permit"
    assert verdict(p, resource(), request(purpose=(PURPOSE, "HRESCH"))) == "deny"


def test_unstated_purpose_is_covered_by_denies_but_not_by_permits():
    research = {"system": PURPOSE, "code": "HRESCH"}
    assert verdict(for_r1(purpose=[research]), resource()) == "deny"
    p = for_r1(provision=[{"type": "deny", "purpose": [research]}])
    assert verdict(p, resource()) == "deny"
    assert verdict(p, resource(), request(purpose=(PURPOSE, "TREAT"))) == "permit"


def test_data_period_permit_covers_only_entries_dated_inside():
    p = for_r1(dataPeriod={"start": "2026-01-01", "end": "2026-12-31"})
    assert verdict(p, resource("Communication", "m1", sent="2026-05-01T09:00:00+02:00")) == "permit"
    assert verdict(p, resource("Communication", "m2", sent="2025-12-31T22:00:00Z")) == "deny"
    assert verdict(p, resource("Communication", "m3")) == "deny"


def test_data_period_deny_covers_undated_and_overlapping_data():
    p = for_r1(provision=[{"type": "deny", "dataPeriod": {"end": "2025-12-31"}}])
    assert verdict(p, resource("Communication", "m1", sent="2026-05-01T09:00:00+02:00")) == "permit"
    assert verdict(p, resource("Communication", "m2", sent="2025-06-01T09:00:00+02:00")) == "deny"
    assert verdict(p, resource("Communication", "m3")) == "deny"
    overlapping = resource("CarePlan", "cp1", period={"start": "2025-11-01", "end": "2026-02-01"})
    assert verdict(p, overlapping) == "deny"


def test_data_instance_is_that_resource_only():
    p = for_r1(data=[{"meaning": "instance", "reference": {"reference": "Goal/g1"}}])
    assert verdict(p, resource("Goal", "g1")) == "permit"
    assert verdict(p, resource("Goal", "g2")) == "deny"


def test_data_dependents_covers_the_instance_and_what_refers_to_it():
    p = for_r1(data=[{"meaning": "dependents", "reference": {"reference": "CarePlan/cp7"}}])
    goal_of_plan = resource("Goal", "g1", addresses=[{"reference": "CarePlan/cp7"}])
    assert verdict(p, resource("CarePlan", "cp7")) == "permit"
    assert verdict(p, goal_of_plan) == "permit"
    assert verdict(p, resource("Goal", "g2")) == "deny"


def test_data_related_covers_what_the_instance_refers_to_when_known():
    p = for_r1(data=[{"meaning": "related", "reference": {"reference": "CarePlan/cp7"}}])
    goal = resource("Goal", "g1")
    assert verdict(p, resource("CarePlan", "cp7")) == "permit"
    # A resource alone cannot say what refers to it: a permit does not assume it...
    assert verdict(p, goal) == "deny"
    known = facts_of(goal, referenced_by=frozenset({"CarePlan/cp7"}))
    assert verdict(p, known) == "permit"


def test_data_related_deny_assumes_the_worst_when_unknown():
    p = for_r1(provision=[{"type": "deny", "data": [{"meaning": "related", "reference": {"reference": "CarePlan/cp7"}}]}])
    goal = resource("Goal", "g1")
    assert verdict(p, goal) == "deny"
    assert verdict(p, facts_of(goal, referenced_by=frozenset())) == "permit"
    assert verdict(p, facts_of(goal, referenced_by=frozenset({"CarePlan/cp7"}))) == "deny"


def test_data_authoredby_covers_what_that_person_wrote():
    p = for_r1(data=[{"meaning": "authoredby", "reference": {"reference": "RelatedPerson/r1"}}])
    own = resource("Communication", "m1", sender={"reference": "RelatedPerson/r1"})
    nurse = resource("Communication", "m2", sender={"reference": "Practitioner/n1"})
    assert verdict(p, own) == "permit"
    assert verdict(p, nurse) == "deny"


def test_period_before_start_grants_nothing_yet():
    p = for_r1(period={"start": "2026-07-01"})
    assert verdict(p, resource()) == "deny"
    assert verdict(p, resource(), request(now=datetime(2026, 7, 1, tzinfo=timezone.utc))) == "permit"


def test_expired_consent_grants_nothing():
    p = for_r1(period={"start": "2025-01-01", "end": "2025-12-31T23:59:59+01:00"})
    assert verdict(p, resource()) == "deny"


def test_facts_can_be_passed_instead_of_the_resource():
    p = for_r1(**{"class": [{"system": RT, "code": "Goal"}]})
    assert verdict(p, ResourceFacts(type="Goal", id="Goal/g1")) == "permit"
    assert NOW.tzinfo is not None
