"""The CapabilityStatement tells the truth about what is served."""
from gateway.resource_types import SERVED_TYPES


def test_metadata_needs_no_token_and_lists_every_served_type(client):
    resp = client.get("/fhir/metadata")
    assert resp.status_code == 200
    cs = resp.get_json()
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1" and cs["kind"] == "instance"
    assert cs["format"] == ["application/fhir+json", "json"]
    rest = cs["rest"][0]
    assert [r["type"] for r in rest["resource"]] == list(SERVED_TYPES)
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch", "history-system", "search-system"}


def test_metadata_claims_only_interactions_that_answer(api, patient):
    cs = api.get("metadata").get_json()
    patient_caps = next(r for r in cs["rest"][0]["resource"] if r["type"] == "Patient")
    codes = {i["code"] for i in patient_caps["interaction"]}
    pid = api.create(patient())["id"]
    probes = {
        "read": api.get(f"Patient/{pid}"),
        "vread": api.get(f"Patient/{pid}/_history/1"),
        "history-instance": api.get(f"Patient/{pid}/_history"),
        "history-type": api.get("Patient/_history"),
    }
    for code, resp in probes.items():
        assert code in codes and resp.status_code == 200, code
    assert patient_caps["versioning"] == "versioned-update"
    assert patient_caps["conditionalDelete"] == "single"
