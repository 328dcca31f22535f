"""Every byte judged on what it is (issue 9, section 1), through real HTTP.

Versions are judged on their own; directory entries belong to a record only
through its clinical record; refusals are recorded against the caller's own
client; a hidden id and a missing one do the same work; a carer writes only
references into the record they may see; fhirUser names a person of this
server.
"""
import base64
import json

import pytest
from fhir_builders import actor, classes, consent, put_all

H = {"Content-Type": "application/fhir+json"}
ACCESS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
CONTRIBUTE = {"coding": [{"system": "https://samenzorg.nl/fhir/CodeSystem/consent-action", "code": "contribute"}]}
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


def _rp(rid, patient):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": patient}}


def _plan(pid, patient, **extra):
    return {"resourceType": "CarePlan", "id": pid, "status": "active", "intent": "plan",
            "subject": {"reference": patient}, **extra}


def _carer_consent(cid, patient, carer, *types):
    """Permit the carer to read these types and add to the logbook; deny restricted (R) data."""
    return consent(cid, patient, {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor(carer)], "action": [ACCESS], "class": classes(*types),
         "provision": [{"type": "deny", "securityLabel": [{"system": CONFIDENTIALITY, "code": "R"}]}]},
        {"type": "permit", "actor": [actor(carer)], "action": [CONTRIBUTE], "class": classes("Communication")}]})


RECORD = [
    {"resourceType": "Patient", "id": "anna"},
    {"resourceType": "Patient", "id": "bert"},
    _rp("dochter-anna", "Patient/anna"),
    _rp("zoon-bert", "Patient/bert"),
    {"resourceType": "Practitioner", "id": "huisarts-anna"},
    {"resourceType": "Practitioner", "id": "vreemde"},
    {"resourceType": "Practitioner", "id": "huisarts-bert"},
    {"resourceType": "CareTeam", "id": "team-anna", "status": "active", "subject": {"reference": "Patient/anna"},
     "participant": [{"member": {"reference": "Practitioner/huisarts-anna"}}]},
    {"resourceType": "CareTeam", "id": "team-bert", "status": "active", "subject": {"reference": "Patient/bert"},
     "participant": [{"member": {"reference": "Practitioner/huisarts-bert"}}]},
    _plan("plan-anna", "Patient/anna"),
    _plan("plan-bert", "Patient/bert"),
    _carer_consent("c-anna", "Patient/anna", "RelatedPerson/dochter-anna",
                   "CarePlan", "Communication", "Practitioner", "CareTeam", "Patient", "AuditEvent"),
    _carer_consent("c-bert", "Patient/bert", "RelatedPerson/zoon-bert",
                   "CarePlan", "Communication", "Practitioner", "AuditEvent"),
]


@pytest.fixture
def record(client):
    return put_all(client, RECORD)


@pytest.fixture
def as_(anonymous, mint):
    def as_(fhir_user, scope="user/*.cruds"):
        token = mint(scope, fhir_user=fhir_user, client_id="familieportaal")
        return _Caller(anonymous, token)
    return as_


class _Caller:
    def __init__(self, client, token):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path):
        return self.client.get(f"/fhir/{path}", headers=self.headers)

    def post(self, path, body):
        return self.client.post(f"/fhir/{path}", json=body, headers={**H, **self.headers})


def _ids(bundle):
    return [(e["resource"]["resourceType"], e["resource"]["id"], e["resource"]["meta"]["versionId"])
            for e in bundle.get("entry", []) if "resource" in e]


def _count(client, path):
    return client.get(f"/fhir/{path}?_summary=count").get_json()["total"]


def _audits(client, **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return [e["resource"] for e in client.get(f"/fhir/AuditEvent?{qs}&_count=100").get_json().get("entry", [])]


# -- each version judged on its own ------------------------------------------------------------

def test_a_plan_moved_to_another_client_keeps_its_old_version_out_of_the_new_record(record, as_):
    # Version 1 is Bert's, version 2 is Anna's: Anna's daughter may see only version 2.
    record.put("/fhir/CarePlan/verhuisd", json=_plan("verhuisd", "Patient/bert", description="van Bert"), headers=H)
    record.put("/fhir/CarePlan/verhuisd", json=_plan("verhuisd", "Patient/anna", description="van Anna"), headers=H)
    daughter, son = as_("RelatedPerson/dochter-anna"), as_("RelatedPerson/zoon-bert")
    assert daughter.get("CarePlan/verhuisd").status_code == 200
    assert daughter.get("CarePlan/verhuisd/_history/2").status_code == 200
    assert daughter.get("CarePlan/verhuisd/_history/1").status_code == 404
    for path in ("CarePlan/verhuisd/_history", "CarePlan/_history", "_history?_count=500"):
        seen = _ids(daughter.get(path).get_json())
        assert ("CarePlan", "verhuisd", "2") in seen and ("CarePlan", "verhuisd", "1") not in seen, path
    # And Bert's son saw version 1 when it was Bert's; he never sees version 2.
    assert son.get("CarePlan/verhuisd/_history/1").status_code == 200
    assert son.get("CarePlan/verhuisd/_history/2").status_code == 404
    assert [v for *_, v in _ids(son.get("CarePlan/verhuisd/_history").get_json())] == ["1"]
    assert son.get("CarePlan/verhuisd").status_code == 404


def test_a_version_with_a_label_the_consent_denies_is_left_out_of_every_history(record, as_):
    restricted = {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}
    record.put("/fhir/CarePlan/plan-anna", json=_plan("plan-anna", "Patient/anna", meta=restricted,
                                                      description="v2 geheim"), headers=H)
    record.put("/fhir/CarePlan/plan-anna", json=_plan("plan-anna", "Patient/anna", description="v3"), headers=H)
    daughter = as_("RelatedPerson/dochter-anna")
    assert daughter.get("CarePlan/plan-anna").status_code == 200
    assert daughter.get("CarePlan/plan-anna/_history/2").status_code == 404
    assert daughter.get("CarePlan/plan-anna/_history/1").status_code == 200
    for path in ("CarePlan/plan-anna/_history", "CarePlan/_history", "_history"):
        versions = [v for t, i, v in _ids(daughter.get(path).get_json()) if i == "plan-anna"]
        assert versions == ["3", "1"], path
    # Paging one version at a time never shows it either.
    seen, url = [], "CarePlan/plan-anna/_history?_count=1"
    while url:
        page = daughter.get(url).get_json()
        seen += [v for *_, v in _ids(page)]
        url = next((link["url"].split("/fhir/", 1)[1] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == ["3", "1"]
    assert "v2 geheim" not in json.dumps(daughter.get("_history").get_json())


def test_a_current_version_the_consent_denies_is_left_out_and_its_earlier_ones_are_judged_each(record, as_):
    # A carer's current versions are judged by the resource's access clause in SQL, earlier ones in
    # Python (Repository._carer_history); here the current one is denied and the earlier one shown.
    restricted = {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}
    record.put("/fhir/CarePlan/plan-anna", json=_plan("plan-anna", "Patient/anna", meta=restricted,
                                                      description="v2 geheim"), headers=H)
    daughter = as_("RelatedPerson/dochter-anna")
    assert daughter.get("CarePlan/plan-anna").status_code == 404
    for path in ("CarePlan/plan-anna/_history", "CarePlan/_history", "_history"):
        versions = [v for t, i, v in _ids(daughter.get(path).get_json()) if i == "plan-anna"]
        assert versions == ["1"], path
    assert "v2 geheim" not in json.dumps(daughter.get("_history").get_json())
    # Made visible again, the current version is shown beside the first, the middle one still not.
    record.put("/fhir/CarePlan/plan-anna", json=_plan("plan-anna", "Patient/anna", description="v3"), headers=H)
    assert [v for *_, v in _ids(daughter.get("CarePlan/plan-anna/_history").get_json())] == ["3", "1"]


def test_only_a_carers_earlier_versions_are_judged_one_by_one(record, as_, monkeypatch):
    # Judging a version in Python parses and extracts it (most of a carer's history page, before);
    # a current version is judged with the resource's access clause, in the history's statement.
    from gateway.policy import Policy

    judged, sees_version = [], Policy.sees_version
    monkeypatch.setattr(Policy, "sees_version", lambda self, *args, **kwargs:
                        judged.append(args[:2]) or sees_version(self, *args, **kwargs))
    record.put("/fhir/CarePlan/plan-anna", json=_plan("plan-anna", "Patient/anna", description="v2"), headers=H)
    daughter = as_("RelatedPerson/dochter-anna")
    assert [v for *_, v in _ids(daughter.get("CarePlan/plan-anna/_history").get_json())] == ["2", "1"]
    assert judged == [("CarePlan", "plan-anna")]  # version 1 only
    judged.clear()
    assert {i for _, i, _ in _ids(daughter.get("_history?_count=100").get_json())} >= {"plan-anna", "dochter-anna"}
    assert set(judged) == {("CarePlan", "plan-anna")}


def test_a_visible_version_behind_many_hidden_ones_is_found_page_by_page(record, as_):
    # A carer's history reads versions in batches (at least 50) until a page is full: the one
    # message the daughter may see lies behind 60 newer ones her Consent hides.
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/anna"}}
    record.put("/fhir/Communication/zichtbaar", json={**message, "id": "zichtbaar"}, headers=H)
    restricted = {"security": [{"system": CONFIDENTIALITY, "code": "R"}]}
    for n in range(60):
        assert record.put(f"/fhir/Communication/geheim-{n}", json={**message, "id": f"geheim-{n}", "meta": restricted},
                          headers=H).status_code == 201
    daughter = as_("RelatedPerson/dochter-anna")
    for path in ("Communication/_history?_count=1", "_history?_count=3"):
        page = daughter.get(path).get_json()
        assert [i for _, i, _ in _ids(page) if i.startswith(("geheim", "zichtbaar"))] == ["zichtbaar"], path
    assert _ids(daughter.get("Communication/_history?_count=100").get_json()) == [("Communication", "zichtbaar", "1")]


def test_a_delete_is_judged_by_the_version_it_deleted(record, as_):
    record.delete("/fhir/CarePlan/plan-bert")
    daughter, son = as_("RelatedPerson/dochter-anna"), as_("RelatedPerson/zoon-bert")
    assert [e["request"]["method"] for e in son.get("CarePlan/plan-bert/_history").get_json()["entry"]] \
        == ["DELETE", "PUT"]
    assert daughter.get("CarePlan/plan-bert/_history").status_code == 404
    assert "plan-bert" not in json.dumps(daughter.get("_history?_count=500").get_json())


# -- directory entries belong to a record only through its clinical record -----------------

def test_a_refused_read_does_not_put_a_practitioner_into_the_record(record, as_):
    daughter = as_("RelatedPerson/dochter-anna")
    assert daughter.get("Practitioner/huisarts-anna").status_code == 200  # on Anna's care team
    for _ in range(2):
        assert daughter.get("Practitioner/vreemde").status_code == 404
    assert daughter.get("Practitioner?_id=vreemde").get_json()["total"] == 0


def test_a_message_from_the_family_does_not_put_a_practitioner_into_the_record(record, as_):
    # Written by a system client on the family's behalf (sender: a RelatedPerson), naming a stranger.
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/anna"},
               "sender": {"reference": "RelatedPerson/dochter-anna"},
               "recipient": [{"reference": "Practitioner/vreemde"}]}
    assert record.post("/fhir/Communication", json=message, headers=H).status_code == 201
    assert as_("RelatedPerson/dochter-anna").get("Practitioner/vreemde").status_code == 404
    # A professional's message does: the GP wrote to the stranger about Anna.
    assert record.post("/fhir/Communication", json={**message, "sender": {"reference": "Practitioner/huisarts-anna"}},
                       headers=H).status_code == 201
    assert as_("RelatedPerson/dochter-anna").get("Practitioner/vreemde").status_code == 200


# -- refusals: against the caller's own client, naming nothing of another ---------------------

def test_a_refusal_is_recorded_against_the_callers_own_client_only(record, as_):
    daughter = as_("RelatedPerson/dochter-anna")
    assert daughter.get("CarePlan/plan-bert").status_code == 404
    refused = [e for e in _audits(record, agent="RelatedPerson/dochter-anna") if e["outcome"] == "4"]
    assert len(refused) == 1
    text = json.dumps(refused)
    assert "Patient/anna" in text
    for other in ("plan-bert", "Patient/bert", "c-bert"):
        assert other not in text
    assert _audits(record, patient="Patient/bert") == []
    # Bert's son reads his own audit trail: nothing from Anna's daughter is on it.
    assert as_("RelatedPerson/zoon-bert").get("AuditEvent?agent=RelatedPerson/dochter-anna").get_json()["total"] == 0


def test_a_hidden_id_and_a_missing_id_give_the_same_answer_and_the_same_record(record, as_):
    daughter = as_("RelatedPerson/dochter-anna")
    hidden, missing = daughter.get("CarePlan/plan-bert"), daughter.get("CarePlan/bestaat-niet")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["issue"][0]["diagnostics"].replace("plan-bert", "X") \
        == missing.get_json()["issue"][0]["diagnostics"].replace("bestaat-niet", "X")
    refused = [e for e in _audits(record, agent="RelatedPerson/dochter-anna") if e["outcome"] == "4"]
    assert len(refused) == 2

    def shape(event):
        return {k: v for k, v in event.items() if k not in ("id", "meta", "recorded")}
    assert shape(refused[0]) == shape(refused[1])


def test_refusals_inside_a_batch_are_recorded_like_direct_ones(record, as_):
    daughter = as_("RelatedPerson/dochter-anna")
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "CarePlan/plan-bert"}},
        {"request": {"method": "POST", "url": "CarePlan"}, "resource": _plan("x", "Patient/anna")},
        {"request": {"method": "GET", "url": "CarePlan/plan-anna"}}]}
    resp = daughter.post("", batch)
    assert [e["response"]["status"][:3] for e in resp.get_json()["entry"]] == ["404", "403", "200"]
    events = _audits(record, agent="RelatedPerson/dochter-anna")
    by_interaction = sorted((e["subtype"][0]["code"], e["outcome"]) for e in events)
    assert by_interaction == [("create", "4"), ("read", "0"), ("read", "4")]


def test_audit_events_name_the_interaction_from_the_route_table(record, as_):
    daughter = as_("RelatedPerson/dochter-anna")
    daughter.get("CarePlan/plan-anna/_history/1")
    daughter.get("CarePlan?_id=plan-anna")
    daughter.get("CarePlan/plan-anna/_history")
    codes = {e["subtype"][0]["code"] for e in _audits(record, agent="RelatedPerson/dochter-anna")}
    assert codes == {"vread", "search-type", "history-instance"}
    gp = as_("Practitioner/huisarts-anna")
    patch = [{"op": "replace", "path": "/status", "value": "completed"}]
    resp = gp.client.patch("/fhir/CarePlan/plan-anna", json=patch,
                           headers={**gp.headers, "Content-Type": "application/json-patch+json"})
    assert resp.status_code == 200, resp.get_json()
    assert {e["subtype"][0]["code"] for e in _audits(record, agent="Practitioner/huisarts-anna")} == {"patch"}


# -- a carer writes references only into the record they may see ------------------------------

@pytest.mark.parametrize("field,value", [
    ("basedOn", [{"reference": "CarePlan/plan-bert"}]),          # another client's plan
    ("about", [{"reference": "CareTeam/team-bert"}]),
    ("inResponseTo", [{"reference": "Communication/bestaat-niet"}]),
    ("recipient", [{"reference": "Practitioner/vreemde"}]),      # not in Anna's record
    ("reasonReference", [{"reference": "Patient/bert"}]),
    ("partOf", [{"reference": "https://elders.example/fhir/CarePlan/1"}]),
    ("basedOn", [{"reference": "CarePlan/plan-anna/_history/1"}, {"reference": "Consent/c-bert"}]),
])
def test_a_carers_message_may_not_reference_outside_what_they_see(record, as_, field, value):
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/anna"},
               "sender": {"reference": "RelatedPerson/dochter-anna"}, field: value}
    before = _count(record, "Communication")
    resp = as_("RelatedPerson/dochter-anna").post("Communication", message)
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert _count(record, "Communication") == before


def test_a_carers_message_may_reference_what_is_in_the_record_and_visible(record, as_):
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/anna"},
               "sender": {"reference": "RelatedPerson/dochter-anna"},
               "basedOn": [{"reference": "CarePlan/plan-anna"}],
               "recipient": [{"reference": "Practitioner/huisarts-anna"}],
               "payload": [{"contentString": "Boodschappen gedaan."}]}
    assert as_("RelatedPerson/dochter-anna").post("Communication", message).status_code == 201


# -- fhirUser names a person of this server -------------------------------------------------

def test_a_fhir_user_on_another_server_is_refused(record, as_, mint, anonymous):
    elsewhere = mint("user/*.rs", fhir_user="https://elders.example/fhir/RelatedPerson/dochter-anna")
    resp = anonymous.get("/fhir/CarePlan", headers={"Authorization": f"Bearer {elsewhere}"})
    assert resp.status_code == 401
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    here = mint("user/*.rs", fhir_user="http://localhost/fhir/RelatedPerson/dochter-anna")
    resp = anonymous.get("/fhir/CarePlan/plan-anna", headers={"Authorization": f"Bearer {here}"})
    assert resp.status_code == 200


def test_a_malformed_fhir_user_is_refused(mint, anonymous):
    for user in ("RelatedPerson/", "Device/1", "RelatedPerson/a/b", "x://RelatedPerson/1"):
        token = mint("user/*.rs", fhir_user=user)
        resp = anonymous.get("/fhir/CarePlan", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code in (401, 403), user
        assert resp.get_json()["resourceType"] == "OperationOutcome"



def test_a_failed_batch_entry_or_transaction_records_no_disclosure(record, as_):
    # The GP reads Anna's plan, then the entry fails (If-Match on a stale version): nothing was
    # disclosed by that entry, so only the refusal-free reads that succeeded are on record.
    gp = as_("Practitioner/huisarts-anna")
    patch = base64.b64encode(b'[{"op": "test", "path": "/status", "value": "revoked"}]').decode()
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "PATCH", "url": "CarePlan/plan-anna"},
         "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": patch}},
        {"request": {"method": "GET", "url": "CareTeam/team-anna"}}]}
    resp = gp.post("", batch)
    assert [e["response"]["status"][:3] for e in resp.get_json()["entry"]] == ["400", "200"]
    events = _audits(record, agent="Practitioner/huisarts-anna")
    assert [(e["subtype"][0]["code"], e["outcome"]) for e in events] == [("read", "0")]
    assert "plan-anna" not in json.dumps(events)
    transaction = {**batch, "type": "transaction"}
    assert gp.post("", transaction).status_code == 400
    assert len(_audits(record, agent="Practitioner/huisarts-anna")) == 1


def test_no_disclosure_leaves_before_its_audit_record_is_committed(record, as_, monkeypatch):
    # A fault hard to cause for real: the audit write fails. The carer then gets an error, never the data.
    from gateway.repository import Repository

    def broken(self, *args, **kwargs):
        raise RuntimeError("audit store unavailable")
    monkeypatch.setattr(Repository, "flush_audits", broken)
    resp = as_("RelatedPerson/dochter-anna").get("CarePlan/plan-anna")
    assert resp.status_code == 500
    assert "plan-anna" not in resp.get_data(as_text=True)
