"""The scenario table: roles × consent shapes × resource types × interactions.

Each row stores one small network with one consent shape, then checks every
read path — read, vread, instance/type/system history, search with total,
_summary=count and batch GET entries — against the expected visible set.
"""
import pytest
from fhir_builders import actor, classes, consent

H = {"Content-Type": "application/fhir+json"}
PSY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
ME = actor("RelatedPerson/r")
ALL = {"CareTeam/ct", "CarePlan/cp", "Goal/g", "Communication/m1", "Communication/m2"}
TYPES = ("CareTeam", "CarePlan", "Goal", "Communication")

BASE = [
    {"resourceType": "Patient", "id": "p"},
    {"resourceType": "RelatedPerson", "id": "r", "active": True, "patient": {"reference": "Patient/p"},
     "relationship": [{"coding": [{"system": COD472, "code": "19"}]}]},
    {"resourceType": "RelatedPerson", "id": "mentor", "active": True, "patient": {"reference": "Patient/p"},
     "relationship": [{"coding": [{"system": COD472, "code": "15"}]}]},
    {"resourceType": "Practitioner", "id": "nurse"},
    {"resourceType": "Practitioner", "id": "outsider"},
    {"resourceType": "CareTeam", "id": "ct", "status": "active", "subject": {"reference": "Patient/p"},
     "participant": [{"member": {"reference": "Practitioner/nurse"}}, {"member": {"reference": "RelatedPerson/r"}}]},
    {"resourceType": "CarePlan", "id": "cp", "status": "active", "intent": "plan", "subject": {"reference": "Patient/p"}},
    {"resourceType": "Goal", "id": "g", "lifecycleStatus": "active", "description": {"text": "Thuis wonen"},
     "subject": {"reference": "Patient/p"}},
    {"resourceType": "Communication", "id": "m1", "status": "completed", "subject": {"reference": "Patient/p"},
     "sender": {"reference": "Practitioner/nurse"}},
    {"resourceType": "Communication", "id": "m2", "status": "completed", "subject": {"reference": "Patient/p"},
     "sender": {"reference": "RelatedPerson/r"}, "meta": {"security": [PSY]}},
]


def _consent(provision, status="active"):
    return consent("c", "Patient/p", provision, status=status)


PERMIT_ALL = {"type": "deny", "provision": [{"type": "permit", "actor": [ME]}]}
SHAPES = {
    "none": None,
    "permit-all": _consent(PERMIT_ALL),
    "permit-some-types": _consent({"type": "deny", "provision": [
        {"type": "permit", "actor": [ME], "class": classes("CarePlan", "Goal")}]}),
    "deny-with-exception": _consent({"type": "permit", "actor": [ME], "provision": [
        {"type": "deny", "class": classes("Communication")}]}),
    "expired": _consent({"type": "deny", "provision": [
        {"type": "permit", "actor": [ME], "period": {"start": "2019-01-01", "end": "2020-01-01"}}]}),
    "revoked": _consent(PERMIT_ALL, status="inactive"),
    "future-period": _consent({"type": "deny", "provision": [
        {"type": "permit", "actor": [ME], "period": {"start": "2090-01-01"}}]}),
    "securityLabel-restricted": _consent({"type": "deny", "provision": [
        {"type": "permit", "actor": [ME], "provision": [{"type": "deny", "securityLabel": [PSY]}]}]}),
    "authoredby": _consent({"type": "deny", "provision": [
        {"type": "permit", "actor": [ME], "class": classes("Communication"),
         "data": [{"meaning": "authoredby", "reference": {"reference": "RelatedPerson/r"}}]}]}),
}

SCENARIOS = [
    ("system", None, "none", ALL),
    ("patient", "Patient/p", "none", ALL),
    ("team practitioner", "Practitioner/nurse", "none", ALL),
    ("outside practitioner", "Practitioner/outsider", "permit-all", set()),
    ("legal representative", "RelatedPerson/mentor", "none", ALL),
    ("carer", "RelatedPerson/r", "none", set()),
    ("carer", "RelatedPerson/r", "permit-all", ALL),
    ("carer", "RelatedPerson/r", "permit-some-types", {"CarePlan/cp", "Goal/g"}),
    ("carer", "RelatedPerson/r", "deny-with-exception", {"CareTeam/ct", "CarePlan/cp", "Goal/g"}),
    ("carer", "RelatedPerson/r", "expired", set()),
    ("carer", "RelatedPerson/r", "revoked", set()),
    ("carer", "RelatedPerson/r", "future-period", set()),
    ("carer", "RelatedPerson/r", "securityLabel-restricted", ALL - {"Communication/m2"}),
    ("carer", "RelatedPerson/r", "authoredby", {"Communication/m2"}),
]


@pytest.mark.parametrize("role, user, shape, visible", SCENARIOS,
                         ids=[f"{role}-{shape}" for role, _, shape, _ in SCENARIOS])
def test_every_read_path_shows_exactly_the_permitted_set(client, anonymous, mint, role, user, shape, visible):
    for r in BASE + ([SHAPES[shape]] if SHAPES[shape] else []):
        assert client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H).status_code == 201
    token = mint("system/*.rs") if user is None else mint("user/*.rs", fhir_user=user)
    auth = {"Authorization": f"Bearer {token}"}

    def get(path):
        return anonymous.get(f"/fhir/{path}", headers=auth)

    for ref in sorted(ALL):
        expected = 200 if ref in visible else 404
        assert get(ref).status_code == expected, ref
        assert get(f"{ref}/_history/1").status_code == expected, ref
        assert get(f"{ref}/_history").status_code == expected, ref
    for rtype in TYPES:
        want = {r for r in visible if r.startswith(f"{rtype}/")}
        bundle = get(f"{rtype}?_total=accurate").get_json()
        assert {f"{rtype}/{e['resource']['id']}" for e in bundle.get("entry", [])} == want, rtype
        assert bundle["total"] == len(want)
        assert get(f"{rtype}?_summary=count").get_json()["total"] == len(want)
        history = get(f"{rtype}/_history").get_json()
        assert {f"{rtype}/{e['resource']['id']}" for e in history["entry"]} == want, rtype
    system = get("_history?_count=500").get_json()
    seen = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in system["entry"]}
    assert seen & ALL == visible
    batch = {"resourceType": "Bundle", "type": "batch",
             "entry": [{"request": {"method": "GET", "url": ref}} for ref in sorted(ALL)]}
    out = anonymous.post("/fhir", json=batch, headers={**H, **auth}).get_json()
    got = {ref for ref, e in zip(sorted(ALL), out["entry"]) if e["response"]["status"].startswith("200")}
    assert got == visible
