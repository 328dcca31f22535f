"""Property: the SQL-side filter and the per-resource verdict always agree,
and no reordering of consents or provisions changes a verdict."""
from datetime import datetime, timedelta, timezone

from consent_builders import ACTION, COD472, EXTRA, OWN_ACTION, RT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent import (ACCESS, CONTRIBUTE, AccessRequest, Verdict, compile_filter, decide, evaluate, facts_of,
                     start_operation)

SCT = "http://snomed.info/sct"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CET = timezone(timedelta(hours=1))

ACTORS = ["RelatedPerson/r1", "RelatedPerson/r1", "RelatedPerson/r2"]
ROLES = [(EXTRA, "100001"), (COD472, "19")]
TYPES = ["CarePlan", "Communication", "Goal", "CareTeam"]
CODES = [(SCT, "a"), (SCT, "b")]
LABELS = [("https://samenzorg.nl/fhir/CodeSystem/label", "hidden"), (CONF, "N"), (CONF, "R")]
REFS = ["Goal/g1", "CarePlan/cp1", "RelatedPerson/r1", "Communication/m1"]
DATES = ["2025-06-01", "2025-12-31T23:30:00+01:00", "2026-03", "2026-04-01T10:00:00+02:00", "2027"]
PERIODS = [{"start": "2026-01-01"}, {"end": "2025-12-31"}, {"start": "2027-01-01"},
           {"start": "2026-01-01", "end": "2026-12-31"}, {}]
NOWS = [datetime(2026, 6, 1, 12, tzinfo=timezone.utc)] * 3 + [datetime(2025, 12, 31, 23, 59, 59, tzinfo=CET),
        datetime(2026, 1, 1, 0, 0, tzinfo=CET), datetime(2028, 1, 1, tzinfo=timezone.utc)]


def coding(pair):
    return {"system": pair[0], "code": pair[1]}


def concept(pair):
    return {"coding": [coding(pair)]}


actor = st.one_of(
    st.sampled_from(ACTORS).map(lambda r: {"reference": {"reference": r}}),
    st.sampled_from(ROLES).map(lambda c: {"role": concept(c)}),
    st.sampled_from(ACTORS).map(lambda r: {"role": concept(("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                                             "IRCP")), "reference": {"reference": r}}))
action = st.sampled_from([(ACTION, "access"), (ACTION, "access"), (OWN_ACTION, "contribute"), (ACTION, "use")]).map(concept)
klass = st.sampled_from(TYPES).flatmap(lambda t: st.sampled_from([
    {"system": RT, "code": t}, {"system": f"http://hl7.org/fhir/StructureDefinition/{t}"}]))
data_item = st.builds(lambda m, r: {"meaning": m, "reference": {"reference": r}},
                      st.sampled_from(["instance", "related", "dependents", "authoredby"]), st.sampled_from(REFS))
some = lambda s: st.lists(s, min_size=1, max_size=2)  # noqa: E731

CRITERIA = {
    "actor": some(actor), "action": some(action), "class": some(klass),
    "code": some(st.sampled_from(CODES).map(concept)), "securityLabel": some(st.sampled_from(LABELS).map(coding)),
    "purpose": some(st.sampled_from([(REASON, "TREAT")]).map(coding)),
    "period": st.sampled_from(PERIODS), "dataPeriod": st.sampled_from(PERIODS[:4]), "data": some(data_item),
}
# Rarely, something the engine must refuse to understand.
BROKEN = st.sampled_from([
    {"period": {"start": "morgen"}}, {"action": [concept(("urn:x-acme", "read"))]},
    {"data": [{"meaning": "all", "reference": {"reference": "Goal/g1"}}]}, {"type": "maybe"}])


@st.composite
def provision(draw, depth=0):
    node = {"type": draw(st.sampled_from(["permit", "deny"]))}
    # Most provisions name an actor (permits without one grant nothing) and
    # set few criteria, so that permits are common enough to test.
    if draw(st.sampled_from([True, True, False])):
        node["actor"] = draw(CRITERIA["actor"])
    for name in draw(st.sets(st.sampled_from(sorted(set(CRITERIA) - {"actor"})), max_size=2)):
        node[name] = draw(CRITERIA[name])
    if depth < 3:
        kids = draw(st.lists(provision(depth + 1), max_size=3 - depth))
        if kids:
            node["provision"] = kids
    return node


@st.composite
def consent(draw, cid):
    res = {"resourceType": "Consent", "id": cid,
           "status": draw(st.sampled_from(["active"] * 9 + ["inactive"])),
           "scope": concept(("http://terminology.hl7.org/CodeSystem/consentscope",
                             draw(st.sampled_from(["patient-privacy"] * 9 + ["research"])))),
           "patient": {"reference": draw(st.sampled_from(["Patient/p1"] * 9 + ["Patient/p2"]))}}
    policy = draw(st.sampled_from([None, None, "OPTIN", "OPTOUT"]))
    if policy:
        res["policyRule"] = concept(("http://terminology.hl7.org/CodeSystem/v3-ActCode", policy))
    if draw(st.sampled_from([True] * 9 + [False])) or not policy:
        res["provision"] = draw(provision())
        if draw(st.sampled_from([False] * 15 + [True])):
            res["provision"].update(draw(BROKEN))
    return res


consents = st.integers(0, 3).flatmap(lambda n: st.tuples(*(consent(f"c{i}") for i in range(n))).map(list))


@st.composite
def resource_facts(draw):
    rtype = draw(st.sampled_from(TYPES))
    res = {"resourceType": rtype, "id": draw(st.sampled_from(["g1", "cp1", "m1", "t1"]))}
    res["meta"] = {"security": [coding(c) for c in draw(st.sets(st.sampled_from(LABELS)))]}
    res["category"] = [concept(c) for c in draw(st.sets(st.sampled_from(CODES)))]
    when = draw(st.none() | st.sampled_from(DATES))
    if when:
        key = {"Communication": "sent", "Goal": "startDate"}.get(rtype)
        res.update({key: when} if key else {"period": {"start": when}})
    who = draw(st.none() | st.sampled_from(["RelatedPerson/r1", "Practitioner/n1"]))
    if who:
        res.update({"Communication": {"sender": {"reference": who}}, "CarePlan": {"author": {"reference": who}},
                    "Goal": {"expressedBy": {"reference": who}}}.get(rtype, {}))
    if draw(st.booleans()):
        res["basedOn" if rtype != "Goal" else "addresses"] = [{"reference": draw(st.sampled_from(REFS))}]
    referenced_by = draw(st.sampled_from([None, frozenset(), frozenset({"CarePlan/cp1"})]))
    return res if referenced_by is None and draw(st.booleans()) else facts_of(res, referenced_by=referenced_by)


requests = st.builds(
    lambda a, roles, act, purpose, now: AccessRequest(actor=a, actor_roles=frozenset(roles), action=act,
                                                      patient="Patient/p1", purpose=purpose, now=now),
    st.sampled_from(ACTORS), st.sets(st.sampled_from(ROLES)), st.sampled_from([ACCESS, CONTRIBUTE]),
    st.sampled_from([None, (REASON, "TREAT"), (REASON, "HRESCH")]), st.sampled_from(NOWS))


def reversed_tree(node):
    node = dict(node)
    if isinstance(node.get("provision"), list):
        node["provision"] = [reversed_tree(p) for p in reversed(node["provision"])]
    return node


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consents, requests, resource_facts(), st.randoms(use_true_random=False))
def test_filter_and_decision_agree_and_order_never_matters(cs, req, res, rnd):
    decision = decide(cs, req, res)
    facts = res if not isinstance(res, dict) else facts_of(res)
    assert evaluate(compile_filter(cs, req), facts) == (decision.verdict == "permit")

    shuffled = list(cs)
    rnd.shuffle(shuffled)
    again = decide(shuffled, req, res)
    assert (again.verdict, again.consent, again.provision) == (decision.verdict, decision.consent, decision.provision)
    assert compile_filter(shuffled, req) == compile_filter(cs, req)

    mirrored = [dict(c, provision=reversed_tree(c["provision"])) if "provision" in c else c for c in cs]
    assert decide(mirrored, req, res).verdict == decision.verdict

    verdict = start_operation(cs, req)
    if verdict is Verdict.REJECT:
        assert decision.verdict == "deny"
    if verdict is Verdict.AUTHORIZED:
        assert decision.verdict == "permit"
