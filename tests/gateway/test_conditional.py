"""Conditional create, update and delete through HTTP (search-based)."""
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"


def test_conditional_create_returns_the_match_instead_of_a_duplicate(api, patient):
    first = api.post("Patient", patient(bsn="999911120"), **{"If-None-Exist": f"identifier={BSN}|999911120"})
    assert first.status_code == 201
    again = api.post("Patient", patient(bsn="999911120"), **{"If-None-Exist": f"identifier={BSN}|999911120"})
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(api.get("Patient/_history").get_json()["entry"]) == 1


def test_conditional_create_matching_several_is_412(api, patient):
    api.create(patient(family="Jansen"))
    api.create(patient(family="Jansen"))
    resp = api.post("Patient", patient(family="Jansen"), **{"If-None-Exist": "family=Jansen"})
    assert resp.status_code == 412


def test_conditional_update_creates_updates_or_refuses_by_match_count(api, patient):
    url = f"Patient?identifier={BSN}|999911132"
    created = api.put(url, patient(family="Smit", bsn="999911132"))
    assert created.status_code == 201
    pid = created.get_json()["id"]
    updated = api.put(url, patient(family="Smit-Bakker", bsn="999911132"))
    assert updated.status_code == 200
    assert updated.get_json()["id"] == pid and updated.get_json()["meta"]["versionId"] == "2"
    api.create(patient(family="Smit-Bakker", bsn="999911132"))  # now two share the BSN
    assert api.put(url, patient(family="Anders", bsn="999911132")).status_code == 412
    assert api.get(f"Patient/{pid}").get_json()["name"][0]["family"] == "Smit-Bakker"


def test_conditional_update_without_criteria_or_with_unknown_ones_is_400(api, patient):
    assert api.put("Patient", patient()).status_code == 400
    assert api.put("Patient?colour=blue", patient()).status_code == 400


def test_conditional_delete_deletes_the_single_match(api, patient):
    pid = api.create(patient(bsn="999911144"))["id"]
    resp = api.delete(f"Patient?identifier={BSN}|999911144")
    assert resp.status_code == 204
    assert api.get(f"Patient/{pid}").status_code == 410
    assert api.delete(f"Patient?identifier={BSN}|999911144").status_code == 204  # no match: nothing to do


def test_conditional_delete_with_several_matches_is_412_and_deletes_nothing(api, patient):
    a = api.create(patient(family="Dubbel"))["id"]
    b = api.create(patient(family="Dubbel"))["id"]
    assert api.delete("Patient?family=Dubbel").status_code == 412
    assert api.get(f"Patient/{a}").status_code == 200 and api.get(f"Patient/{b}").status_code == 200
