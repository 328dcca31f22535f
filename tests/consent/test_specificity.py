"""Most specific applicable provision wins; deny wins ties; order never matters."""
import itertools

from consent_builders import R1_ACTOR, RT, consent, for_r1, request, resource

from consent import decide

CARETEAM = [{"system": RT, "code": "CareTeam"}]
SCT = "http://snomed.info/sct"


def all_orders(consents):
    return {(d.verdict, d.consent, d.provision)
            for d in (decide(list(order), request(), resource()) for order in itertools.permutations(consents))}


def test_nested_exception_overrides_its_parent():
    c = consent(for_r1(provision=[{"type": "deny", "class": CARETEAM}]))
    assert decide([c], request(), resource("Goal", "g1")).verdict == "permit"
    assert decide([c], request(), resource("CareTeam")).verdict == "deny"


def test_exception_to_an_exception_overrides_again():
    c = consent(for_r1(provision=[{"type": "deny", "class": CARETEAM,
                                   "provision": [{"type": "permit", "data": [
                                       {"meaning": "instance", "reference": {"reference": "CareTeam/t1"}}]}]}]))
    decision = decide([c], request(), resource("CareTeam", "t1"))
    assert (decision.verdict, decision.provision) == ("permit", "provision.provision[0].provision[0].provision[0]")
    assert decide([c], request(), resource("CareTeam", "t2")).verdict == "deny"


def test_nested_permit_only_applies_within_its_parents_scope():
    # The permit sits under a deny for r2: it must not grant r1 anything.
    c = consent({"type": "deny", "provision": [{"type": "deny", "actor": [
        {"reference": {"reference": "RelatedPerson/r2"}}], "provision": [{"type": "permit", "class": CARETEAM}]}]})
    assert decide([c], request(), resource()).verdict == "deny"
    assert decide([c], request(actor="RelatedPerson/r2"), resource()).verdict == "permit"


def test_deny_wins_at_equal_specificity_in_any_order():
    grant = consent({"type": "permit", "actor": R1_ACTOR, "class": CARETEAM}, cid="a")
    refuse = consent({"type": "deny", "actor": R1_ACTOR, "class": CARETEAM}, cid="b")
    assert all_orders([grant, refuse]) == {("deny", "Consent/b", "provision")}
    assert "deny wins over 1 permit" in decide([grant, refuse], request(), resource()).reason


def test_deeper_provision_beats_shallower_one_across_consents():
    # Consent a denies r1 everything at the root; consent b grants an exception one level down.
    refuse = consent({"type": "deny", "actor": R1_ACTOR, "class": CARETEAM}, cid="a")
    grant = consent(for_r1(**{"class": CARETEAM}), cid="b")
    assert all_orders([refuse, grant]) == {("permit", "Consent/b", "provision.provision[0]")}


def test_more_criteria_beat_fewer_at_the_same_depth():
    broad = consent(for_r1(), cid="a")
    narrow_deny = consent({"type": "deny", "provision": [{"type": "deny", "actor": R1_ACTOR, "class": CARETEAM}]},
                          cid="b")
    broad_deny = consent({"type": "deny", "provision": [{"type": "deny", "class": CARETEAM}]}, cid="c")
    narrow = consent(for_r1(**{"class": CARETEAM}), cid="d")
    assert all_orders([broad, narrow_deny]) == {("deny", "Consent/b", "provision.provision[0]")}
    assert all_orders([broad_deny, narrow]) == {("permit", "Consent/d", "provision.provision[0]")}


def test_criteria_inherited_from_ancestors_count():
    code = {"coding": [{"system": SCT, "code": "386229000"}]}
    deep_permit = consent({"type": "deny", "provision": [{"type": "deny", "actor": R1_ACTOR, "code": [code],
                           "provision": [{"type": "permit"}]}]}, cid="a")
    deny_same_depth = consent({"type": "deny", "provision": [{"type": "permit", "provision": [
        {"type": "deny", "actor": R1_ACTOR}]}]}, cid="b")
    res = resource("CareTeam", "t1", category=[code])
    # Both at depth 2; the permit's path sets actor+code (2), the deny's actor (1).
    assert decide([deep_permit, deny_same_depth], request(), res).verdict == "permit"


def test_order_of_provisions_inside_a_consent_does_not_matter():
    one = {"type": "permit", "actor": R1_ACTOR, "class": CARETEAM}
    two = {"type": "deny", "actor": R1_ACTOR, "class": CARETEAM}
    a = decide([consent({"type": "deny", "provision": [one, two]})], request(), resource())
    b = decide([consent({"type": "deny", "provision": [two, one]})], request(), resource())
    assert a.verdict == b.verdict == "deny"
