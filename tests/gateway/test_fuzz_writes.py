"""Property-based fuzzing of the write paths: hostile bodies never give a 500, every 4xx is an
OperationOutcome, a refused write stores nothing, and what is stored validates again.

Bounded and deterministic (derandomize), so it runs in CI on SQLite and PostgreSQL.
"""
import copy

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway.storage.tables import resource_history
from gateway.validation import validate_resource

H = {"Content-Type": "application/fhir+json"}

BASES = [
    {"resourceType": "Patient", "name": [{"family": "de Vries", "given": ["Anna"]}], "gender": "female",
     "birthDate": "1938-04-12", "telecom": [{"system": "phone", "value": "0612345678"}]},
    {"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": {"reference": "Patient/fz"},
     "activity": [{"detail": {"status": "scheduled", "description": "Boodschappen",
                              "performer": [{"reference": "RelatedPerson/fz-dochter"}]}}]},
    {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/fz"},
     "sender": {"reference": "RelatedPerson/fz-dochter"}, "sent": "2026-11-20T09:00:00+01:00",
     "payload": [{"contentString": "Mevrouw sliep goed."}]},
    {"resourceType": "Consent", "status": "active", "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
     "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                           "code": "patient-privacy"}]},
     "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
     "patient": {"reference": "Patient/fz"},
     "provision": {"type": "deny", "provision": [{"type": "permit", "actor": [
         {"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                               "code": "IRCP"}]}, "reference": {"reference": "RelatedPerson/fz-dochter"}}]}]}},
    {"resourceType": "CareTeam", "status": "active", "subject": {"reference": "Patient/fz"},
     "participant": [{"member": {"reference": "RelatedPerson/fz-dochter"}}]},
    {"resourceType": "RelatedPerson", "active": True, "patient": {"reference": "Patient/fz"},
     "relationship": [{"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.3.11.22.472", "code": "19"}]}]},
    {"resourceType": "Subscription", "status": "requested", "reason": "Nieuwe berichten",
     "criteria": "Communication?patient=Patient/fz&category=zorg",
     "channel": {"type": "rest-hook", "endpoint": "https://portaal.example/hook", "payload": "application/fhir+json",
                 "header": ["Authorization: Bearer x"]}},
]

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=False), st.just(""), st.just(" "), st.just("\x00"), st.just("a\x01b"),
    st.just("<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></div>"),
    st.just("x" * 70000), st.just("Patient/' OR 1=1 --"), st.just("urn:uuid:nope"), st.just("9999-99-99"),
    st.text(max_size=30), st.just([]), st.just({}), st.just([{}]), st.just({"reference": "Patient/anders"}),
    st.just({"valueCodeableReference": {"reference": {"reference": "Patient/fz"}}, "url": "http://x"}),
    st.recursive(st.text(max_size=5), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8), inner, max_size=3), max_leaves=10),
)
KEYS = st.one_of(st.sampled_from(["id", "meta", "text", "extension", "contained", "resourceType", "status",
                                  "subject", "_status", "modifierExtension", "identifier", "period"]),
                 st.text(max_size=12))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@st.composite
def hostile_resources(draw):
    resource = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(resource) if p]
        kind = draw(st.sampled_from(["replace", "add", "delete"]))
        if kind == "add" or not paths:
            targets = [p for p in _paths(resource) if isinstance(_get(resource, p), dict)]
            parent = _get(resource, draw(st.sampled_from(targets)))
            parent[draw(KEYS)] = copy.deepcopy(draw(HOSTILE))
            continue
        path = draw(st.sampled_from(paths))
        parent, key = _get(resource, path[:-1]), path[-1]
        if kind == "delete":
            del parent[key]
        else:
            parent[key] = copy.deepcopy(draw(HOSTILE))
    return resource


def _get(node, path):
    for p in path:
        node = node[p]
    return node


def _deep(depth: int) -> bytes:
    """A Patient whose extensions nest `depth` levels (written by hand: orjson won't go that deep)."""
    inner = b'{"url": "http://x", "valueString": "x"}'
    for _ in range(depth):
        inner = b'{"url": "http://x", "extension": [' + inner + b"]}"
    return b'{"resourceType": "Patient", "extension": [' + inner + b"]}"


def _stored_versions(app):
    engine = app.extensions["samenzorg.engine"]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(resource_history)
                            .where(resource_history.c.res_type != "AuditEvent")).scalar_one()


def _check(app, resp, before):
    assert resp.status_code != 500, resp.get_data(as_text=True)[:500]
    if resp.status_code >= 400:
        body = resp.get_json(silent=True)
        assert body and body.get("resourceType") == "OperationOutcome", resp.get_data(as_text=True)[:300]
        assert _stored_versions(app) == before, "a refused write changed stored data"


FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _seed(client):
    for r in ({"resourceType": "Patient", "id": "fz"},
              {"resourceType": "RelatedPerson", "id": "fz-dochter", "active": True,
               "patient": {"reference": "Patient/fz"}}):
        client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H)


@FUZZ
@given(resource=hostile_resources(), method=st.sampled_from(["POST", "PUT", "BATCH", "TRANSACTION"]),
       as_carer=st.booleans())
def test_hostile_writes_never_crash_and_never_store_the_invalid(app, client, anonymous, mint, resource, method,
                                                                as_carer):
    _seed(client)
    caller = client
    headers = dict(H)
    if as_carer:
        caller = anonymous
        headers["Authorization"] = f"Bearer {mint('user/*.cruds', fhir_user='RelatedPerson/fz-dochter')}"
    rtype = resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else "Patient"
    rtype = rtype if rtype.isalpha() else "Patient"
    before = _stored_versions(app)
    if method == "POST":
        resp = caller.post(f"/fhir/{rtype}", data=orjson.dumps(resource), headers=headers)
    elif method == "PUT":
        rid = resource.get("id") if isinstance(resource.get("id"), str) else "fuzz-1"
        resp = caller.put(f"/fhir/{rtype}/{rid}", data=orjson.dumps(resource), headers=headers)
    else:
        bundle = {"resourceType": "Bundle", "type": method.lower(), "entry": [
            {"fullUrl": "urn:uuid:6c8a1e1e-0000-4000-8000-000000000001", "resource": resource,
             "request": {"method": "POST", "url": rtype}}]}
        resp = caller.post("/fhir", data=orjson.dumps(bundle), headers=headers)
    _check(app, resp, before)
    if method == "BATCH" and resp.status_code == 200:
        status = resp.get_json()["entry"][0]["response"]
        assert not status["status"].startswith("500"), status
    if resp.status_code in (200, 201) and method in ("POST", "PUT"):
        stored = resp.get_json(silent=True)
        if stored and stored.get("resourceType") == rtype:
            validate_resource(stored)  # what was stored is valid FHIR R4


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), st.just(b"[]"), st.just(b"null"), st.just(b"\"x\""),
                     st.just(b"{" * 5000), st.just(b"[" * 100000 + b"]" * 100000),
                     st.just(_deep(300)), st.just(_deep(40)),
                     st.just(b'{"resourceType": "Patient", "id": "' + b"9" * 400 + b'"}')),
       path=st.sampled_from(["Patient", "Patient/x", "", "Patient/x/$access-preview", "$import-network",
                             "Consent/$evaluate"]),
       method=st.sampled_from(["POST", "PUT", "PATCH"]))
def test_raw_hostile_bodies_never_crash(app, client, raw, path, method):
    before = _stored_versions(app)
    ctype = "application/json-patch+json" if method == "PATCH" else "application/fhir+json"
    resp = client.open(f"/fhir/{path}", method=method, data=raw, headers={"Content-Type": ctype})
    _check(app, resp, before)


@FUZZ
@given(criteria=st.one_of(
           st.text(max_size=60),
           st.builds(lambda t, q: f"{t}?{q}", st.sampled_from(["Communication", "Patient", "CarePlan", "Nope", ""]),
                     st.text(max_size=60)),
           st.builds(lambda k, v: f"Communication?{k}={v}",
                     st.sampled_from(["patient", "sent", "_id", "subject:Patient.name", "_has:x", "_count",
                                      "category:text", "bogus", "_sort", "status:missing"]),
                     st.text(max_size=30))),
       endpoint=st.one_of(st.text(max_size=40), st.sampled_from([
           "https://portaal.example/hook", "http://127.0.0.1:1/hook", "http://[::1]:1/x", "http://10.0.0.1/x",
           "https://[::1", "https://portaal.example:99999/", "javascript:alert(1)", "//portaal.example"])))
def test_hostile_subscriptions_never_crash_and_a_refused_one_stores_nothing(app, anonymous, mint, criteria, endpoint):
    """Criteria and endpoints of every shape: 201 or a 4xx OperationOutcome, and a refusal leaves no
    Subscription, no owner row and no handshake behind."""
    from gateway.storage.tables import outbox, subscriptions

    def counted():
        with app.extensions["samenzorg.engine"].connect() as conn:
            return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (outbox, subscriptions))

    headers = {**H, "Authorization": f"Bearer {mint('user/*.cruds', fhir_user='RelatedPerson/fz-dochter')}"}
    resource = {"resourceType": "Subscription", "status": "requested", "reason": "fuzz", "criteria": criteria,
                "channel": {"type": "rest-hook", "endpoint": endpoint}}
    before, rows = _stored_versions(app), counted()
    resp = anonymous.post("/fhir/Subscription", data=orjson.dumps(resource), headers=headers)
    _check(app, resp, before)
    if resp.status_code >= 400:
        assert counted() == rows
    else:
        assert resp.status_code == 201 and counted() == (rows[0] + 1, rows[1] + 1)
