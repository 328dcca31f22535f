"""Batch and transaction entries keep their promises: each batch entry is answered on its own,
malformed entries are 400s naming the entry, and a transaction never creates one resource twice."""
import base64
import json
import logging

import pytest
from sqlalchemy import func, select

from gateway.storage.tables import INDEX_TABLES, resource_history, resources


def _rows(app) -> dict:
    """How many rows every table that a write touches holds."""
    tables = {"resources": resources, "history": resource_history, **INDEX_TABLES}
    with app.extensions["samenzorg.engine"].connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in tables.items()}


def _post(family):
    return {"resource": {"resourceType": "Patient", "name": [{"family": family}]},
            "request": {"method": "POST", "url": "Patient"}}


def _bundle(kind, *entries):
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def test_an_unexpected_error_in_a_batch_entry_is_that_entrys_500_and_stores_nothing_of_it(
        api, app, monkeypatch, caplog):
    from gateway.interactions import crud

    answer = crud.write_response

    def fails_after_writing(ctx, req, stored, change):  # a bug that strikes once the rows are written
        if b"Boom" in (stored.body or b""):
            raise RuntimeError("secret detail of the failure")
        return answer(ctx, req, stored, change)

    monkeypatch.setattr(crud, "write_response", fails_after_writing)
    empty = _rows(app)
    existing = api.create(_post("Er al")["resource"])
    before = _rows(app)
    one_patient = {table: before[table] - empty[table] for table in before}  # what storing one such Patient adds
    with caplog.at_level(logging.ERROR, logger="samenzorg"):
        resp = api.post("", _bundle("batch", _post("Goed"), _post("Boom"),
                                    {"request": {"method": "GET", "url": f"Patient/{existing['id']}"}}))
    assert resp.status_code == 200, resp.get_json()
    good, bad, read = resp.get_json()["entry"]
    assert good["response"]["status"] == "201 Created"
    assert read["response"]["status"] == "200 OK" and read["resource"]["id"] == existing["id"]
    assert bad["response"]["status"] == "500 Internal Server Error"
    issue = bad["response"]["outcome"]["issue"][0]
    assert issue["code"] == "exception"
    assert resp.headers["X-Request-ID"] in issue["diagnostics"]
    assert "secret detail" not in resp.get_data(as_text=True)
    assert any("secret detail" in r.exc_text for r in caplog.records if r.exc_text)
    assert _rows(app) == {table: before[table] + one_patient[table] for table in before}  # the good entry only
    assert api.get("Patient?family=Boom").get_json()["total"] == 0


def test_every_malformed_batch_entry_gets_its_own_400_and_the_others_are_answered(api, app):
    bad = [{"request": "x"}, {"request": {"method": ["GET"], "url": "Patient"}},
           {"request": {"method": "GET"}}, {"request": {"method": "POST", "url": "Patient"}},
           {"resource": "Patient", "request": {"method": "POST", "url": "Patient"}},
           {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient", "ifNoneExist": 7}},
           {"resource": {"resourceType": "Binary", "data": "bm90IGpzb24="}, "request": {"method": "PATCH", "url": "Patient/x"}}]
    resp = api.post("", _bundle("batch", *bad, _post("Goed")))
    assert resp.status_code == 200, resp.get_json()
    entries = resp.get_json()["entry"]
    for i, entry in enumerate(entries[:-1]):
        assert entry["response"]["status"] == "400 Bad Request", (i, entry)
        assert f"Bundle.entry[{i}]" in entry["response"]["outcome"]["issue"][0]["diagnostics"]
    assert entries[-1]["response"]["status"] == "201 Created"
    assert _rows(app)["resources"] == 1


MALFORMED_TRANSACTIONS = {
    "entry is an object": {"entry": {}},
    "entry is a string": {"entry": "x"},
    "an entry is a number": {"entry": [1]},
    "an entry is null": {"entry": [None]},
    "request is a string": {"entry": [{"request": "x"}]},
    "no url": {"entry": [{"request": {"method": "GET"}}]},
    "url is a number": {"entry": [{"request": {"method": "GET", "url": 5}}]},
    "method is a number": {"entry": [{"request": {"method": 1, "url": "Patient"}}]},
    "method is unknown": {"entry": [{"request": {"method": "FETCH", "url": "Patient"}}]},
    "resource is a string": {"entry": [{"resource": "x", "request": {"method": "POST", "url": "Patient"}}]},
    "resource is a list": {"entry": [{"resource": [], "request": {"method": "PUT", "url": "Patient/a"}}]},
    "POST without a resource": {"entry": [{"request": {"method": "POST", "url": "Patient"}}]},
    "PUT without a resource": {"entry": [{"request": {"method": "PUT", "url": "Patient/a"}}]},
    "conditional PUT without a resource": {"entry": [{"request": {"method": "PUT", "url": "Patient?name=x"}}]},
    "fullUrl is a number": {"entry": [{"fullUrl": 3, **_post("A")}]},
    "fullUrl is a list": {"entry": [{"fullUrl": ["urn:uuid:a"], **_post("A")}]},
    "duplicate fullUrls": {"entry": [{"fullUrl": "urn:uuid:1", **_post("A")}, {"fullUrl": "urn:uuid:1", **_post("B")}]},
    "ifNoneExist is a number": {"entry": [{**_post("A"), "request": {"method": "POST", "url": "Patient", "ifNoneExist": 1}}]},
    "patch Binary without data": {"entry": [{"resource": {"resourceType": "Binary"},
                                             "request": {"method": "PATCH", "url": "Patient/a"}}]},
    "patch Binary data not a string": {"entry": [{"resource": {"resourceType": "Binary", "data": 5},
                                                  "request": {"method": "PATCH", "url": "Patient/a"}}]},
    "patch Binary not JSON": {"entry": [{"resource": {"resourceType": "Binary", "data": "bm90IGpzb24="},
                                         "request": {"method": "PATCH", "url": "Patient/a"}}]},
}


@pytest.mark.parametrize("shape", MALFORMED_TRANSACTIONS.values(), ids=MALFORMED_TRANSACTIONS.keys())
def test_a_malformed_transaction_is_400_naming_the_entry_and_stores_nothing(api, app, shape):
    body = {"resourceType": "Bundle", "type": "transaction", **shape}
    body["entry"] = [_post("Eerst")] + body["entry"] if isinstance(body["entry"], list) else body["entry"]
    before = _rows(app)
    resp = api.post("", body)
    assert resp.status_code == 400, resp.get_json()
    issue = resp.get_json()["issue"][0]
    assert issue["diagnostics"].startswith("Bundle.entry"), issue
    assert issue["diagnostics"].count("Bundle.entry[") <= 2  # named once (twice only to name the other entry)
    assert _rows(app) == before


def test_the_same_if_none_exist_twice_creates_one_resource_and_both_fullurls_point_at_it(api, app):
    identifier = [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999911144"}]
    condition = "identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911144"

    def conditional_create(n, condition):
        return {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}",
                "resource": {"resourceType": "Patient", "identifier": identifier},
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": condition}}

    def carer(n):
        return {"resource": {"resourceType": "RelatedPerson",
                             "patient": {"reference": f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"}},
                "request": {"method": "POST", "url": "RelatedPerson"}}

    reordered = "&".join(reversed([condition, "active=true"]))  # the same criteria, written differently
    resp = api.post("", _bundle("transaction", conditional_create(1, condition), conditional_create(2, condition),
                                conditional_create(3, f"{condition}&active=true"),
                                conditional_create(4, reordered), carer(1), carer(2)))
    assert resp.status_code == 200, resp.get_json()
    entries = resp.get_json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created", "200 OK", "201 Created", "200 OK",
                                                           "201 Created", "201 Created"]
    first, again = entries[0]["response"]["location"], entries[1]["resource"]["id"]
    assert first.split("/")[-3] == again
    assert entries[3]["resource"]["id"] == entries[2]["response"]["location"].split("/")[-3]
    patients = api.get("Patient?identifier=http://fhir.nl/fhir/NamingSystem/bsn|999911144").get_json()
    assert patients["total"] == 2  # one per distinct condition, never one per entry
    carers = api.get("RelatedPerson").get_json()["entry"]
    assert {c["resource"]["patient"]["reference"] for c in carers} == {f"Patient/{again}"}


def test_two_writes_of_one_resource_in_a_transaction_are_400(api, app):
    def put(url, family):
        return {"resource": {"resourceType": "Patient", "name": [{"family": family}]},
                "request": {"method": "PUT", "url": url}}

    existing = api.create({"resourceType": "Patient", "name": [{"family": "Bestaand"}]})
    condition = "Patient?name=Nergens"
    before = _rows(app)
    for entries in ([put(condition, "A"), put(condition, "B")],
                    [put("Patient/same", "A") | {"resource": {"resourceType": "Patient", "id": "same"}},
                     put("Patient/same", "B") | {"resource": {"resourceType": "Patient", "id": "same"}}],
                    [{"request": {"method": "DELETE", "url": f"Patient/{existing['id']}"}},
                     put(f"Patient/{existing['id']}", "C") | {"resource": {**existing, "gender": "male"}}]):
        resp = api.post("", _bundle("transaction", *entries))
        assert resp.status_code == 400, resp.get_json()
        assert "Bundle.entry[1]" in resp.get_json()["issue"][0]["diagnostics"]
        assert "Bundle.entry[0]" in resp.get_json()["issue"][0]["diagnostics"]
    assert _rows(app) == before


def test_an_entry_url_may_be_absolute_on_this_base(api, patient):
    pid = api.create(patient())["id"]
    resp = api.post("", _bundle("batch", {"request": {"method": "GET", "url": f"http://localhost/fhir/Patient/{pid}"}}))
    assert resp.get_json()["entry"][0]["response"]["status"] == "200 OK"


def test_a_patch_is_recorded_as_patch_in_history(api, client, patient):
    pid = api.create(patient(family="Oud"))["id"]
    ops = [{"op": "replace", "path": "/name/0/family", "value": "Nieuw"}]
    resp = client.patch(f"/fhir/Patient/{pid}", data=json.dumps(ops),
                        headers={"Content-Type": "application/json-patch+json"})
    assert resp.status_code == 200, resp.get_json()
    data = base64.b64encode(json.dumps([{"op": "replace", "path": "/gender", "value": "male"}]).encode()).decode()
    for kind in ("transaction", "batch"):
        out = api.post("", _bundle(kind, {"resource": {"resourceType": "Binary", "data": data,
                                                        "contentType": "application/json-patch+json"},
                                          "request": {"method": "PATCH", "url": f"Patient/{pid}"}}))
        assert out.get_json()["entry"][0]["response"]["status"] == "200 OK", out.get_json()
        data = base64.b64encode(json.dumps([{"op": "replace", "path": "/gender",
                                             "value": "other"}]).encode()).decode()
    history = api.get(f"Patient/{pid}/_history").get_json()["entry"]
    assert [e["request"]["method"] for e in history] == ["PATCH", "PATCH", "PATCH", "POST"]
    assert [e["request"]["url"] for e in history[:3]] == [f"Patient/{pid}"] * 3
    assert history[0]["response"]["status"] == "200 OK"
