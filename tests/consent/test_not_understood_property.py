"""Property: what the engine does not understand never grants more than ANY
reading of it would.

Random provision trees carry "holes": criteria (or elements, or a provision
type) the engine cannot read. The same tree is also rendered with every hole
replaced by something the engine does understand — a criterion that matches
this request and resource, one that does not, an element that is simply
absent, a provision that never applies, a permit, a deny. Whenever the tree
with holes permits a resource, every one of those readings permits it too;
and the compiled filter agrees with the per-resource verdict on the tree
with holes.
"""
import itertools
from datetime import datetime, timedelta, timezone

from consent_builders import ACTION, COD472, EXTRA, RT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent import ACCESS, CONTRIBUTE, AccessRequest, compile_filter, decide, evaluate, facts_of

SCT = "http://snomed.info/sct"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
LABEL = "https://samenzorg.nl/fhir/CodeSystem/label"
REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CET = timezone(timedelta(hours=1))

ACTORS = ["RelatedPerson/r1", "RelatedPerson/r2"]
ROLES = [(EXTRA, "100001"), (COD472, "19")]
TYPES = ["CarePlan", "Communication", "Goal", "CareTeam"]
CODES = [(SCT, "a"), (SCT, "b")]
LABELS = [(LABEL, "hidden"), (CONF, "N"), (CONF, "R")]
PURPOSES = [(REASON, "TREAT"), (REASON, "HRESCH")]
REFS = ["Goal/g1", "CarePlan/cp1", "RelatedPerson/r1", "Communication/m1"]
DATES = ["2025-06-01", "2025-12-31T23:30:00+01:00", "2026-03", "2026-04-01T10:00:00+02:00", "2027"]
PERIODS = [{"start": "2026-01-01"}, {"end": "2025-12-31"}, {"start": "2027-01-01"},
           {"start": "2026-01-01", "end": "2026-12-31"}, {}]
NOWS = [datetime(2026, 6, 1, 12, tzinfo=timezone.utc), datetime(2025, 12, 31, 23, 59, 59, tzinfo=CET),
        datetime(2028, 1, 1, tzinfo=timezone.utc)]


def coding(pair):
    return {"system": pair[0], "code": pair[1]}


def concept(pair):
    return {"coding": [coding(pair)]}


def by_ref(ref):
    return {"reference": {"reference": ref}}


def data_item(meaning, ref):
    return {"meaning": meaning, "reference": {"reference": ref}}


# kind -> (what the engine cannot read, [understood readings of it]). Between
# them the readings match and fail to match every request and resource drawn below.
HOLES = {
    "action": ([{"action": [concept((ACTION, "peek"))]}, {"action": [concept(("urn:x-acme", "read"))]},
                {"action": [{"text": "lezen"}]}],
               [{"action": [concept(a)]} for a in (ACCESS, CONTRIBUTE, (ACTION, "use"))]),
    "actor": ([{"actor": [{"role": concept(("urn:x-acme", "niece"))}]},
               {"actor": [{"reference": {"identifier": {"value": "r1"}}}]}],
              [{"actor": [by_ref(r)]} for r in ACTORS] + [{"actor": [{"role": concept(r)}]} for r in ROLES]),
    "class": ([{"class": [{"system": "urn:oid:1.2.3", "code": "X"}]}, {"class": []}],
              [{"class": [{"system": RT, "code": t}]} for t in TYPES]),
    "code": ([{"code": [concept(("urn:x-local", "a"))]}, {"code": [{"text": "boodschappen"}]}],
             [{"code": [concept(c)]} for c in CODES]),
    "securityLabel": ([{"securityLabel": [coding(("urn:x-local", "secret"))]}, {"securityLabel": [{"code": "R"}]}],
                      [{"securityLabel": [coding(c)]} for c in LABELS]),
    "purpose": ([{"purpose": [coding(("urn:x-local", "care"))]}],
                [{"purpose": [coding(p)]} for p in PURPOSES]),
    "period": ([{"period": {"start": "morgen"}}, {"period": {"start": "2026-03-01T10:00:00"}},
                {"period": {"start": "2026-03-02", "end": "2026-03-01"}}],
               [{"period": p} for p in PERIODS]),
    "dataPeriod": ([{"dataPeriod": {"start": "yesterday"}}, {"dataPeriod": {"end": "2026-02-30"}}],
                   [{"dataPeriod": p} for p in PERIODS[:4]]),
    "data": ([{"data": [{"meaning": "everything", "reference": {"reference": "Goal/g1"}}]},
              {"data": [{"meaning": "instance", "reference": {"identifier": {"value": "42"}}}]}],
             [{"data": [data_item(m, r)]} for m in ("instance", "related", "dependents", "authoredby")
              for r in REFS[:2]]),
    # An element a provision does not have: absent, or a provision that never applies.
    "element": ([{"when": "weekdays"}, {"modifierExtension": [{"url": "urn:x-only-on-sundays", "valueBoolean": True}]}],
                [{}, {"period": {"end": "2000-01-01"}}]),
    "type": ([{"type": "maybe"}, {"type": None}], [{"type": "permit"}, {"type": "deny"}]),
}
# The kinds a node must not set itself for the hole to stand in for them.
CLASHES = {"element": {"period"}, "type": set()}

CRITERIA = {
    "actor": st.sampled_from(ACTORS).map(lambda r: [by_ref(r)])
    | st.sampled_from(ROLES).map(lambda c: [{"role": concept(c)}]),
    "action": st.sampled_from([ACCESS, CONTRIBUTE]).map(lambda a: [concept(a)]),
    "class": st.lists(st.sampled_from(TYPES), min_size=1, max_size=2, unique=True).map(
        lambda ts: [{"system": RT, "code": t} for t in ts]),
    "code": st.sampled_from(CODES).map(lambda c: [concept(c)]),
    "securityLabel": st.sampled_from(LABELS).map(lambda c: [coding(c)]),
    "purpose": st.sampled_from(PURPOSES).map(lambda p: [coding(p)]),
    "period": st.sampled_from(PERIODS),
    "dataPeriod": st.sampled_from(PERIODS[:4]),
    "data": st.builds(lambda m, r: [data_item(m, r)],
                      st.sampled_from(["instance", "related", "dependents", "authoredby"]), st.sampled_from(REFS)),
}


@st.composite
def tree(draw, depth=0):
    """A provision as [json, hole, children]; hole (a kind of HOLES) is placed later.

    Shaped like real consents (a deny base rule, permits for named carers,
    exceptions under those), so that permits are common enough to test."""
    weights = {0: ["deny", "deny", "deny", "permit"], 1: ["permit", "permit", "permit", "deny"]}
    node = {"type": draw(st.sampled_from(weights.get(depth, ["permit", "deny"])))}
    if draw(st.sampled_from([True, True, False] if depth == 1 else [False, False, True])):
        node["actor"] = draw(CRITERIA["actor"])
    for name in draw(st.sets(st.sampled_from(sorted(set(CRITERIA) - {"actor"})), max_size=1 if depth else 0)):
        node[name] = draw(CRITERIA[name])
    kids = draw(st.lists(tree(depth + 1), min_size=1 if depth == 0 else 0, max_size=3 - depth)) if depth < 3 else []
    return [node, None, kids]


def nodes_of(t):
    return [t] + [n for k in t[2] for n in nodes_of(k)]


@st.composite
def trees_with_holes(draw):
    """One to three consents' trees, with one to three holes among their nodes."""
    trees = draw(st.lists(tree(), min_size=1, max_size=3))
    nodes = [n for t in trees for n in nodes_of(t)]
    for n in draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique_by=id)):
        free = [k for k in sorted(HOLES) if k not in n[0] and not CLASHES.get(k, set()) & set(n[0])]
        n[1] = draw(st.sampled_from(free))
    return trees


def holes_of(t):
    node, hole, kids = t
    return ([hole] if hole else []) + [h for k in kids for h in holes_of(k)]


def render(t, fills):
    """The provision JSON with the next hole filled by fills[0], and so on."""
    node, hole, kids = t
    out = dict(node)
    if hole:
        out.update(fills.pop(0))
        out = {k: v for k, v in out.items() if v is not None}
    children = [render(k, fills) for k in kids]
    if children:
        out["provision"] = children
    return out


def consent(cid, provision):
    return {"resourceType": "Consent", "id": cid, "status": "active",
            "scope": concept(("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")),
            "patient": {"reference": "Patient/p1"}, "provision": provision}


@st.composite
def resource(draw):
    rtype = draw(st.sampled_from(TYPES))
    res = {"resourceType": rtype, "id": draw(st.sampled_from(["g1", "cp1", "m1", "t1"]))}
    res["meta"] = {"security": [coding(c) for c in draw(st.sets(st.sampled_from(LABELS)))]}
    res["category"] = [concept(c) for c in draw(st.sets(st.sampled_from(CODES)))]
    when = draw(st.none() | st.sampled_from(DATES))
    if when:
        key = {"Communication": "sent", "Goal": "startDate"}.get(rtype)
        res.update({key: when} if key else {"period": {"start": when}})
    if draw(st.booleans()):
        res.update({"Communication": {"sender": by_ref("RelatedPerson/r1")["reference"]},
                    "CarePlan": {"author": by_ref("RelatedPerson/r1")["reference"]}}.get(rtype, {}))
    if draw(st.booleans()):
        res["basedOn" if rtype != "Goal" else "addresses"] = [{"reference": draw(st.sampled_from(REFS))}]
    return facts_of(res, referenced_by=draw(st.sampled_from([None, frozenset(), frozenset({"CarePlan/cp1"})])))


requests = st.builds(
    lambda a, roles, act, purpose, now: AccessRequest(actor=a, actor_roles=frozenset(roles), action=act,
                                                      patient="Patient/p1", purpose=purpose, now=now),
    st.sampled_from(ACTORS), st.sets(st.sampled_from(ROLES)), st.sampled_from([ACCESS, CONTRIBUTE]),
    st.sampled_from([None, *PURPOSES]), st.sampled_from(NOWS))

MAX_READINGS = 150


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(trees_with_holes(), requests, resource(), st.randoms(use_true_random=False))
def test_not_understood_never_permits_more_than_any_reading(trees, req, facts, rnd):
    holes = [h for t in trees for h in holes_of(t)]
    broken = [rnd.choice(HOLES[h][0]) for h in holes]

    def consents(fills):
        fills = list(fills)
        return [consent(f"c{i}", render(t, fills)) for i, t in enumerate(trees)]

    with_holes = consents(broken)
    verdict = decide(with_holes, req, facts).verdict
    assert evaluate(compile_filter(with_holes, req), facts) == (verdict == "permit")
    if verdict != "permit":
        return
    readings = list(itertools.product(*(HOLES[h][1] for h in holes)))
    if len(readings) > MAX_READINGS:
        readings = rnd.sample(readings, MAX_READINGS)
    for reading in readings:
        assert decide(consents(reading), req, facts).verdict == "permit", (holes, reading)


def test_the_generator_reaches_permits_with_holes():
    # Guard against a vacuous property: trees with holes that still permit exist
    # (the permit is elsewhere), and the readings are then checked.
    t = [{"type": "deny"}, None, [[{"type": "permit", "actor": [by_ref("RelatedPerson/r1")]}, None, []],
                                  [{"type": "deny", "actor": [by_ref("RelatedPerson/r2")]}, "action", []]]]
    req = AccessRequest(actor="RelatedPerson/r1", action=ACCESS, patient="Patient/p1", now=NOWS[0])
    facts = facts_of({"resourceType": "Goal", "id": "g1"})
    assert decide([consent("c", render(t, [HOLES["action"][0][0]]))], req, facts).verdict == "permit"
    for reading in HOLES["action"][1]:
        assert decide([consent("c", render(t, [reading]))], req, facts).verdict == "permit"
