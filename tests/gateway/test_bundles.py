"""Batch and transaction Bundles at POST /fhir."""
from sqlalchemy import func, select

from gateway.storage.tables import resources


def _count(app) -> int:
    with app.extensions["samenzorg.engine"].connect() as conn:
        return conn.execute(select(func.count()).select_from(resources)).scalar_one()


def _network_transaction(patient):
    return {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
             "resource": {"resourceType": "RelatedPerson", "active": True,
                          "patient": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"},
                          "name": [{"family": "de Vries", "given": ["Marieke"]}]},
             "request": {"method": "POST", "url": "RelatedPerson"}},
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000000",
             "resource": patient(),
             "request": {"method": "POST", "url": "Patient"}},
        ],
    }


def test_transaction_creates_all_and_resolves_urn_uuid_references(api, app, patient):
    resp = api.post("", _network_transaction(patient))
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert out["type"] == "transaction-response"
    assert [e["response"]["status"] for e in out["entry"]] == ["201 Created", "201 Created"]
    rp_location = out["entry"][0]["response"]["location"]
    pat_location = out["entry"][1]["response"]["location"]
    related = api.client.get(rp_location).get_json()
    pid = pat_location.split("/Patient/")[1].split("/")[0]
    assert related["patient"]["reference"] == f"Patient/{pid}"
    assert _count(app) == 2
    history = api.get(f"Patient/{pid}/_history").get_json()
    assert [e["request"]["method"] for e in history["entry"]] == ["POST"]  # a create, recorded as one


def test_transaction_with_one_bad_entry_stores_nothing_and_names_the_entry(api, app, patient):
    bundle = _network_transaction(patient)
    bundle["entry"].append({"resource": {"resourceType": "Patient", "birthDate": "gisteren"},
                            "request": {"method": "POST", "url": "Patient"}})
    resp = api.post("", bundle)
    assert resp.status_code == 422
    issue = resp.get_json()["issue"][0]
    assert issue["diagnostics"].startswith("Bundle.entry[2]")
    assert issue["expression"] == ["Bundle.entry[2].resource.Patient.birthDate"]
    assert _count(app) == 0


def test_transaction_with_a_dangling_urn_uuid_is_refused(api, app, patient):
    bundle = _network_transaction(patient)
    bundle["entry"] = bundle["entry"][:1]
    resp = api.post("", bundle)
    assert resp.status_code == 400
    assert "Bundle.entry[0]" in resp.get_json()["issue"][0]["diagnostics"]
    assert _count(app) == 0


def test_transaction_processes_deletes_before_creates_and_reads_last(api, patient):
    existing = api.create(patient(family="Oud"))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": f"Patient/{existing['id']}/_history"}},
        {"resource": patient(family="Nieuw"), "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "DELETE", "url": f"Patient/{existing['id']}"}},
    ]}
    out = api.post("", bundle).get_json()
    assert [e["response"]["status"] for e in out["entry"]] == ["200 OK", "201 Created", "204 No Content"]
    history = out["entry"][0]["resource"]
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "POST"]


def test_batch_reports_each_entry_and_keeps_the_good_ones(api, app, patient):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": 7}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
    ]}
    resp = api.post("", bundle)
    assert resp.status_code == 200
    entries = resp.get_json()["entry"]
    assert entries[0]["response"]["status"] == "201 Created"
    assert entries[1]["response"]["status"] == "422 Unprocessable Entity"
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert entries[2]["response"]["status"] == "404 Not Found"
    assert _count(app) == 1


def test_a_bundle_of_the_wrong_type_is_400(api):
    assert api.post("", {"resourceType": "Bundle", "type": "collection"}).status_code == 400
    assert api.post("", {"resourceType": "Patient"}).status_code == 400


def test_transaction_conditional_update_by_identifier_updates_in_place(api, app, patient):
    bsn = "999911120"
    def bundle(family):
        return {"resourceType": "Bundle", "type": "transaction", "entry": [{
            "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
            "resource": patient(family=family, bsn=bsn),
            "request": {"method": "PUT", "url": f"Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|{bsn}"}}]}
    first = api.post("", bundle("Jansen")).get_json()
    assert first["entry"][0]["response"]["status"] == "201 Created"
    second = api.post("", bundle("Jansen-Smit")).get_json()
    assert second["entry"][0]["response"]["status"] == "200 OK"
    assert first["entry"][0]["response"]["location"].split("/_history")[0] == \
        second["entry"][0]["response"]["location"].split("/_history")[0]
    assert _count(app) == 1


def test_transaction_if_none_exist_reuses_the_match(api, app, patient):
    api.create(patient(bsn="999911132"))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333", "resource": patient(bsn="999911132"),
         "request": {"method": "POST", "url": "Patient",
                     "ifNoneExist": "identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911132"}},
        {"resource": {"resourceType": "RelatedPerson",
                      "patient": {"reference": "urn:uuid:33333333-3333-4333-8333-333333333333"}},
         "request": {"method": "POST", "url": "RelatedPerson"}},
    ]}
    out = api.post("", bundle).get_json()
    assert out["entry"][0]["response"]["status"] == "200 OK"
    assert _count(app) == 2


def test_transaction_patch_entry_applies_a_json_patch_in_binary(api, patient):
    import base64
    import json

    pid = api.create(patient(family="Oud"))["id"]
    patch = base64.b64encode(json.dumps([{"op": "replace", "path": "/name/0/family", "value": "Nieuw"}]).encode())
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": patch.decode()},
         "request": {"method": "PATCH", "url": f"Patient/{pid}"}}]}
    out = api.post("", bundle)
    assert out.status_code == 200, out.get_json()
    assert out.get_json()["entry"][0]["response"]["status"] == "200 OK"
    assert api.get(f"Patient/{pid}").get_json()["name"][0]["family"] == "Nieuw"


def test_search_by_post_takes_form_parameters(api, client, patient):
    api.create(patient(family="Formulier"))
    api.create(patient(family="Anders"))
    resp = client.post("/fhir/Patient/_search", data={"family": "Formulier"},
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200
    bundle = resp.get_json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["name"][0]["family"] == "Formulier"
    assert client.post("/fhir/Patient/_search", data="{}", headers={"Content-Type": "application/json"}).status_code == 415


def test_a_transaction_searches_what_it_wrote_and_finds_it_by_its_new_values(api, patient):
    """A transaction's index rows are inserted together, after its writes: its own searches (read
    last), the compartment, and every search afterwards must still see each write's values."""
    old = api.create(patient(family="Oud", bsn="999911120"))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Patient?family=Nieuw&_total=accurate"}},
        {"request": {"method": "GET", "url": "Patient?family=Oud&_total=accurate"}},
        {"request": {"method": "GET", "url": f"Patient/{old['id']}/$everything"}},
        {"fullUrl": "urn:uuid:5c0a5c4e-1f51-4a8e-9d57-3d2c8a1b2c01", "resource": patient(family="Nieuw"),
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {**old, "name": [{"family": "Nieuw", "given": ["Anna"]}]},
         "request": {"method": "PUT", "url": f"Patient/{old['id']}"}},
        {"resource": {"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "Buiten komen"},
                      "subject": {"reference": f"Patient/{old['id']}"}},
         "request": {"method": "POST", "url": "Goal"}},
    ]}
    resp = api.post("", bundle)
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()["entry"]
    assert out[0]["resource"]["total"] == 2
    assert out[1]["resource"]["total"] == 0
    assert "Goal" in {e["resource"]["resourceType"] for e in out[2]["resource"]["entry"]}
    assert api.get("Patient?family=Nieuw&_total=accurate").get_json()["total"] == 2
    assert api.get("Patient?family=Oud&_total=accurate").get_json()["total"] == 0
    assert api.get(f"Goal?subject=Patient/{old['id']}&_total=accurate").get_json()["total"] == 1
