"""Create, read, vread, update, patch and delete through real HTTP."""
import json


def test_create_assigns_id_version_and_answers_201_with_location(api, patient):
    resp = api.post("Patient", patient())
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["id"] and body["meta"]["versionId"] == "1" and "lastUpdated" in body["meta"]
    assert resp.headers["ETag"] == 'W/"1"'
    assert resp.headers["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert resp.headers["Last-Modified"].endswith("GMT")
    assert resp.headers["Content-Type"].startswith("application/fhir+json")


def test_create_ignores_a_client_supplied_id(api, patient):
    body = api.create(patient(id="chosen-by-client"))
    assert body["id"] != "chosen-by-client"


def test_read_serves_what_was_stored(api, patient):
    created = api.create(patient(family="Jansen"))
    resp = api.get(f"Patient/{created['id']}")
    assert resp.status_code == 200
    assert resp.get_json() == created
    assert resp.headers["ETag"] == 'W/"1"'


def test_read_keeps_client_tags_but_sets_server_meta(api, patient):
    tagged = patient(meta={"versionId": "99", "lastUpdated": "2001-01-01T00:00:00Z",
                           "tag": [{"system": "urn:test", "code": "demo"}]})
    body = api.create(tagged)
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] != "2001-01-01T00:00:00Z"
    assert body["meta"]["tag"] == [{"system": "urn:test", "code": "demo"}]


def test_update_makes_a_new_version_and_vread_serves_each(api, patient):
    created = api.create(patient(family="Bakker"))
    pid = created["id"]
    changed = {**created, "name": [{"family": "Bakker-de Boer", "given": ["Anna"]}]}
    resp = api.put(f"Patient/{pid}", changed)
    assert resp.status_code == 200
    assert resp.get_json()["meta"]["versionId"] == "2"
    assert resp.headers["ETag"] == 'W/"2"'
    assert api.get(f"Patient/{pid}/_history/1").get_json()["name"][0]["family"] == "Bakker"
    assert api.get(f"Patient/{pid}/_history/2").get_json()["name"][0]["family"] == "Bakker-de Boer"
    assert api.get(f"Patient/{pid}/_history/3").status_code == 404


def test_update_without_changes_makes_no_new_version(api, patient):
    created = api.create(patient())
    resp = api.put(f"Patient/{created['id']}", created)
    assert resp.status_code == 200
    assert resp.get_json()["meta"]["versionId"] == "1"


def test_update_of_an_unknown_id_creates_it_with_that_id(api, patient):
    resp = api.put("Patient/mevrouw-jansen", patient(id="mevrouw-jansen"))
    assert resp.status_code == 201
    assert resp.get_json()["id"] == "mevrouw-jansen"
    assert api.get("Patient/mevrouw-jansen").status_code == 200


def test_update_with_a_stale_if_match_is_412_and_changes_nothing(api, patient):
    created = api.create(patient())
    pid = created["id"]
    assert api.put(f"Patient/{pid}", {**created, "gender": "male"}, **{"If-Match": 'W/"1"'}).status_code == 200
    resp = api.put(f"Patient/{pid}", {**created, "gender": "other"}, **{"If-Match": 'W/"1"'})
    assert resp.status_code == 412
    assert resp.get_json()["resourceType"] == "OperationOutcome"
    assert api.get(f"Patient/{pid}").get_json()["gender"] == "male"


def test_update_whose_body_id_disagrees_with_the_url_is_400(api, patient):
    created = api.create(patient())
    resp = api.put(f"Patient/{created['id']}", {**created, "id": "other"})
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == ["Patient.id"]


def test_body_of_another_type_than_the_url_is_400(api, patient):
    resp = api.post("Practitioner", patient())
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == ["resourceType"]


def test_delete_then_read_is_410_and_history_shows_the_deletion(api, patient):
    pid = api.create(patient())["id"]
    resp = api.delete(f"Patient/{pid}")
    assert resp.status_code == 204
    assert api.get(f"Patient/{pid}").status_code == 410
    history = api.get(f"Patient/{pid}/_history").get_json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]
    assert "resource" not in history["entry"][0]
    assert api.get(f"Patient/{pid}/_history/2").status_code == 410
    assert api.get(f"Patient/{pid}/_history/1").status_code == 200


def test_deleting_twice_adds_no_version_and_unknown_delete_is_404(api, patient):
    pid = api.create(patient())["id"]
    assert api.delete(f"Patient/{pid}").status_code == 204
    assert api.delete(f"Patient/{pid}").status_code == 204
    assert len(api.get(f"Patient/{pid}/_history").get_json()["entry"]) == 2
    assert api.delete("Patient/never-was").status_code == 404


def test_update_after_delete_brings_the_resource_back(api, patient):
    created = api.create(patient())
    pid = created["id"]
    api.delete(f"Patient/{pid}")
    resp = api.put(f"Patient/{pid}", created)
    assert resp.status_code == 201
    assert resp.get_json()["meta"]["versionId"] == "3"


def test_conditional_read_answers_304_for_a_current_etag_or_date(api, patient):
    created = api.create(patient())
    pid = created["id"]
    resp = api.get(f"Patient/{pid}")
    assert api.get(f"Patient/{pid}", **{"If-None-Match": 'W/"1"'}).status_code == 304
    assert api.get(f"Patient/{pid}", **{"If-None-Match": 'W/"7"'}).status_code == 200
    assert api.get(f"Patient/{pid}", **{"If-Modified-Since": resp.headers["Last-Modified"]}).status_code == 304
    assert api.get(f"Patient/{pid}", **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


def test_prefer_return_minimal_and_operation_outcome(api, patient):
    resp = api.post("Patient", patient(), Prefer="return=minimal")
    assert resp.status_code == 201 and resp.data == b"" and resp.headers["Location"]
    resp = api.post("Patient", patient(), Prefer="return=OperationOutcome")
    assert resp.status_code == 201
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_json_patch_changes_one_element_and_is_validated(api, client, patient):
    pid = api.create(patient())["id"]
    ops = [{"op": "replace", "path": "/gender", "value": "male"}]
    resp = client.patch(f"/fhir/Patient/{pid}", data=json.dumps(ops),
                        headers={"Content-Type": "application/json-patch+json"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["gender"] == "male" and resp.get_json()["meta"]["versionId"] == "2"
    bad = [{"op": "replace", "path": "/birthDate", "value": "not-a-date"}]
    resp = client.patch(f"/fhir/Patient/{pid}", data=json.dumps(bad),
                        headers={"Content-Type": "application/json-patch+json"})
    assert resp.status_code == 422
    assert resp.get_json()["issue"][0]["expression"] == ["Patient.birthDate"]
    assert api.get(f"Patient/{pid}").get_json()["meta"]["versionId"] == "2"


def test_json_patch_that_cannot_apply_is_400(api, client, patient):
    pid = api.create(patient())["id"]
    ops = [{"op": "remove", "path": "/telecom/5"}]
    resp = client.patch(f"/fhir/Patient/{pid}", data=json.dumps(ops),
                        headers={"Content-Type": "application/json-patch+json"})
    assert resp.status_code == 400


def test_every_served_type_can_be_created_and_read(api):
    examples = [
        {"resourceType": "Patient"},
        {"resourceType": "RelatedPerson", "patient": {"reference": "Patient/p1"}},
        {"resourceType": "Practitioner"},
        {"resourceType": "PractitionerRole"},
        {"resourceType": "Organization", "name": "Thuiszorg West"},
        {"resourceType": "CareTeam"},
        {"resourceType": "CarePlan", "status": "active", "intent": "plan", "subject": {"reference": "Patient/p1"}},
        {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "Thuis blijven wonen"},
         "subject": {"reference": "Patient/p1"}},
        {"resourceType": "Consent", "status": "active", "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
         "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
         "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}]},
        {"resourceType": "Communication", "status": "completed"},
        {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2026-01-01T10:00:00Z",
         "agent": [{"requestor": True}], "source": {"observer": {"display": "test"}}},
        {"resourceType": "Provenance", "target": [{"reference": "Patient/p1"}], "recorded": "2026-01-01T10:00:00Z",
         "agent": [{"who": {"reference": "Practitioner/x"}}]},
    ]
    for resource in examples:
        created = api.create(resource)
        assert api.get(f"{resource['resourceType']}/{created['id']}").status_code == 200
