"""Fail closed, narrowly — through real HTTP: a provision the engine cannot read
takes nothing from anyone else, and a representative without `active` is active."""
import pytest
from fhir_builders import actor, classes, consent

H = {"Content-Type": "application/fhir+json"}
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
ACCESS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
PEEK = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "peek"}]}


def _rp(rid, code, **extra):
    return {"resourceType": "RelatedPerson", "id": rid, "patient": {"reference": "Patient/moeder"},
            "relationship": [{"coding": [{"system": COD472, "code": code}]}], **extra}


def _plan(pid):
    return {"resourceType": "CarePlan", "id": pid, "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/moeder"}}


NETWORK = [
    {"resourceType": "Patient", "id": "moeder"},
    _rp("dochter", "01", active=True),
    _rp("nicht", "20", active=True),
    _rp("buurman", "19", active=True),
    _rp("mentor", "15"),  # no `active` element: absent is not false
    _plan("boodschappen"), _plan("medicatie"),
    {"resourceType": "Communication", "id": "log-1", "status": "completed",
     "subject": {"reference": "Patient/moeder"}, "sent": "2026-03-05T10:00:00+01:00"},
    # The niece's provision carries an action code the engine does not know.
    consent("c-familie", "Patient/moeder", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/dochter")], "action": [ACCESS],
         "class": classes("CarePlan", "Communication")},
        {"type": "permit", "actor": [actor("RelatedPerson/nicht")], "action": [PEEK]}]}),
    consent("c-buurman", "Patient/moeder", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/buurman")], "action": [ACCESS],
         "data": [{"meaning": "instance", "reference": {"reference": "CarePlan/boodschappen"}}]}]}),
]


@pytest.fixture
def as_(client, anonymous, mint):
    for r in NETWORK:
        assert client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H).status_code == 201
    return lambda user: {"Authorization": f"Bearer {mint('user/*.rs', fhir_user=user)}"}


def _ids(anonymous, path, auth):
    bundle = anonymous.get(f"/fhir/{path}", headers=auth).get_json()
    return bundle["total"], sorted(e["resource"]["id"] for e in bundle.get("entry", [])
                                   if e["search"]["mode"] == "match")


def test_the_daughter_and_the_neighbour_still_read_what_is_theirs(anonymous, as_):
    daughter, neighbour = as_("RelatedPerson/dochter"), as_("RelatedPerson/buurman")
    assert anonymous.get("/fhir/CarePlan/medicatie", headers=daughter).status_code == 200
    assert _ids(anonymous, "CarePlan?_total=accurate", daughter) == (2, ["boodschappen", "medicatie"])
    assert _ids(anonymous, "Communication?_total=accurate", daughter) == (1, ["log-1"])
    assert _ids(anonymous, "CarePlan?_total=accurate", neighbour) == (1, ["boodschappen"])


def test_the_niece_gets_nothing_from_the_permit_nobody_can_read(anonymous, as_):
    niece = as_("RelatedPerson/nicht")
    for ref in ("CarePlan/medicatie", "CarePlan/boodschappen", "Communication/log-1"):
        assert anonymous.get(f"/fhir/{ref}", headers=niece).status_code == 404, ref
    assert _ids(anonymous, "CarePlan?_total=accurate", niece) == (0, [])
    assert _ids(anonymous, "Communication?_total=accurate", niece) == (0, [])


def test_evaluate_says_what_was_not_understood_and_how_it_was_read(anonymous, as_):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "actor", "valueReference": {"reference": "RelatedPerson/nicht"}},
        {"name": "resource", "valueReference": {"reference": "CarePlan/medicatie"}}]}
    out = anonymous.post("/fhir/Consent/$evaluate", json=body, headers={**H, **as_("Patient/moeder")}).get_json()
    params = {p["name"]: p for p in out["parameter"]}
    assert params["decision"]["valueCode"] == "deny"
    unread = [p["valueString"] for p in out["parameter"] if p["name"] == "notUnderstood"]
    assert len(unread) == 1
    assert "Consent/c-familie provision.provision[1].action[0]" in unread[0]
    assert "peek" in unread[0] and "grants nothing" in unread[0]


def test_a_representative_without_an_active_element_is_a_representative(anonymous, as_):
    mentor = as_("RelatedPerson/mentor")
    assert anonymous.get("/fhir/Communication/log-1", headers=mentor).status_code == 200
    assert _ids(anonymous, "CarePlan?_total=accurate", mentor) == (2, ["boodschappen", "medicatie"])
    preview = anonymous.get("/fhir/Patient/moeder/$access-preview?actor=RelatedPerson/mentor",
                            headers=as_("Patient/moeder")).get_json()
    assert next(p["valueBoolean"] for p in preview["parameter"] if p["name"] == "legalRepresentative") is True
