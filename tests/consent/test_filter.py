"""compile_filter: the same decision as an expression the gateway turns into SQL."""
from consent_builders import NOW, R1_ACTOR, RT, consent, for_r1, importer_consent, request, resource

from consent import (CONTRIBUTE, FALSE, TRUE, And, AuthoredBy, DataDateIn, HasCode, HasSecurity, IdIn, Not,
                     Or, ReferencedBy, References, ResourceFacts, TypeIn, Verdict, all_of, any_of,
                     compile_filter, decide, evaluate, facts_of, negate, start_operation)


def test_no_consent_compiles_to_false_and_rejects_up_front():
    assert compile_filter([], request()) == FALSE
    assert start_operation([], request()) is Verdict.REJECT


def test_importer_consent_compiles_to_types_and_one_care_plan():
    expr = compile_filter([importer_consent()], request())
    assert expr == Or((TypeIn(frozenset({"CareTeam", "Communication"})),
                       And((TypeIn(frozenset({"CarePlan"})), IdIn(frozenset({"CarePlan/cp7"}))))))
    assert start_operation([importer_consent()], request()) is Verdict.PROCEED


def test_request_only_criteria_are_resolved_at_compile_time():
    assert compile_filter([importer_consent()], request(actor="RelatedPerson/r2")) == FALSE
    assert compile_filter([importer_consent()], request(action=CONTRIBUTE)) == TypeIn(frozenset({"Communication"}))
    expired = NOW.replace(year=2028)
    assert compile_filter([importer_consent()], request(now=expired)) == \
        And((TypeIn(frozenset({"CarePlan"})), IdIn(frozenset({"CarePlan/cp7"}))))


def test_unconditional_grant_is_authorized():
    assert start_operation([consent({"type": "permit", "actor": R1_ACTOR})], request()) is Verdict.AUTHORIZED


def test_deny_exception_appears_negated():
    label = {"system": "https://samenzorg.nl/fhir/CodeSystem/label", "code": "hidden"}
    expr = compile_filter([consent(for_r1(provision=[{"type": "deny", "securityLabel": [label]}]))], request())
    assert expr == Not(HasSecurity(label["system"], "hidden"))


def test_filter_does_not_depend_on_consent_order():
    a = importer_consent()
    b = consent(for_r1(**{"class": [{"system": RT, "code": "Goal"}]}), cid="c0")
    assert compile_filter([a, b], request()) == compile_filter([b, a], request())


def test_filter_agrees_with_decide_on_the_importer_consent():
    c1 = importer_consent()
    for res in (resource("CareTeam"), resource("CarePlan", "cp7"), resource("CarePlan", "cp8"),
                resource("Goal", "g1"), resource("Communication", "m1")):
        for req in (request(), request(action=CONTRIBUTE), request(actor="RelatedPerson/r2")):
            assert evaluate(compile_filter([c1], req), facts_of(res)) == (decide([c1], req, res).verdict == "permit")


def test_simplification_rules():
    x, y = TypeIn(frozenset({"Goal"})), HasCode("s", "c")
    assert all_of() == TRUE and any_of() == FALSE
    assert all_of(x, FALSE) == FALSE and any_of(x, TRUE) == TRUE
    assert all_of(x, TRUE) == x and any_of(FALSE, x) == x
    assert all_of(x, all_of(y, x)) == And((x, y))
    assert negate(negate(x)) == x and negate(TRUE) == FALSE


def test_atoms_evaluate_against_facts():
    from datetime import datetime, timezone

    from consent import DateRange
    t = datetime(2026, 5, 1, tzinfo=timezone.utc)
    facts = ResourceFacts(type="Goal", id="Goal/g1", codes=frozenset({("s", "c")}),
                          data_date=DateRange(t, None), authors=frozenset({"Patient/p1"}),
                          references=frozenset({"CarePlan/cp7"}), referenced_by=frozenset({"CarePlan/cp9"}))
    assert evaluate(AuthoredBy("Patient/p1"), facts) and not evaluate(AuthoredBy("Patient/p2"), facts)
    assert evaluate(References("CarePlan/cp7"), facts)
    assert evaluate(ReferencedBy("CarePlan/cp9", if_unknown=False), facts)
    assert not evaluate(ReferencedBy("CarePlan/cp7", if_unknown=True), facts)
    # An open-ended range is never wholly inside a bounded one, but may overlap it.
    assert not evaluate(DataDateIn(None, datetime(2027, 1, 1, tzinfo=timezone.utc), strict=True), facts)
    assert evaluate(DataDateIn(None, datetime(2027, 1, 1, tzinfo=timezone.utc), strict=False), facts)
    assert evaluate(DataDateIn(t, None, strict=True), facts)
