"""What a source delivered is the source's: portal users add beside it, never change or delete it."""
import json
from pathlib import Path

import pytest
from sync_helpers import engine_for, source_for, sync

from connectors.network_json import bundle_resources
from gateway.sync_store import local_id
from mappings import network_to_fhir

DOC = Path(__file__).resolve().parents[2] / "fixtures" / "networks" / "a-dementie-dochter-en-buurman.json"
FHIR = "application/fhir+json"


@pytest.fixture
def synced(settings, tmp_path):
    """The dementia network, synced from a folder source; returns local ids by ECD id."""
    folder = tmp_path / "drop"
    folder.mkdir()
    doc = json.loads(DOC.read_text())
    (folder / "a.json").write_text(json.dumps(doc))
    engine = engine_for(settings)
    try:
        assert sync(engine, source_for("ecd-map", "network-json", folder=str(folder))).error is None
    finally:
        engine.dispose()
    ids = {}
    for r in bundle_resources(network_to_fhir(doc)):
        for ident in r.get("identifier") or []:
            ids[ident["value"]] = f"{r['resourceType']}/{local_id('ecd-map', r['resourceType'], r['id'])}"
    return ids


def _as(app, mint, who):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('user/*.cruds', fhir_user=who)}"
    return client


def _system(app, mint):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('system/*.cruds')}"
    return client


def test_the_daughter_can_add_a_logbook_message_but_not_change_or_delete_the_ecds(app, mint, synced):
    daughter, patient = synced["REL-61001"], synced["CL-204811"]
    client = _as(app, mint, daughter)
    mine = {"resourceType": "Communication", "status": "completed", "subject": {"reference": patient},
            "sender": {"reference": daughter}, "sent": "2026-11-30T10:00:00+01:00",
            "payload": [{"contentString": "Moeder heeft goed gegeten."}]}
    assert client.post("/fhir/Communication", json=mine, headers={"Content-Type": FHIR}).status_code == 201

    entry = next(v for k, v in synced.items() if v.startswith("Communication/"))
    theirs = _system(app, mint).get(f"/fhir/{entry}").get_json()
    changed = {**theirs, "payload": [{"contentString": "overschreven"}]}
    assert client.put(f"/fhir/{entry}", json=changed, headers={"Content-Type": FHIR}).status_code in (403, 404)
    assert client.delete(f"/fhir/{entry}").status_code in (403, 404)
    assert _system(app, mint).get(f"/fhir/{entry}").get_json()["payload"] == theirs["payload"]


def test_a_practitioner_of_the_care_team_cannot_change_what_the_ecd_delivered(app, mint, synced):
    nurse = next(v for k, v in synced.items() if v.startswith("Practitioner/"))
    plan = next(v for k, v in synced.items() if v.startswith("CarePlan/"))
    system = _system(app, mint)
    before = system.get(f"/fhir/{plan}").get_json()
    client = _as(app, mint, nurse)
    changed = {**before, "description": "door de wijkverpleging aangepast"}
    answer = client.put(f"/fhir/{plan}", json=changed, headers={"Content-Type": FHIR})
    assert answer.status_code == 403
    assert "record system" in answer.get_json()["issue"][0]["diagnostics"]
    patch = client.patch(f"/fhir/{plan}", json=[{"op": "replace", "path": "/status", "value": "revoked"}],
                         headers={"Content-Type": "application/json-patch+json"})
    assert patch.status_code == 403
    assert client.delete(f"/fhir/{plan}").status_code == 403
    assert system.get(f"/fhir/{plan}").get_json() == before


def test_a_portal_user_cannot_pass_off_a_resource_as_coming_from_a_source(app, mint, synced):
    daughter, patient = synced["REL-61001"], synced["CL-204811"]
    forged = {"resourceType": "Communication", "status": "completed", "subject": {"reference": patient},
              "meta": {"source": "urn:samenzorg:source:ecd-map"},
              "sender": {"reference": daughter}, "payload": [{"contentString": "van het ECD, echt waar"}]}
    answer = _as(app, mint, daughter).post("/fhir/Communication", json=forged, headers={"Content-Type": FHIR})
    assert answer.status_code == 403


def test_a_sync_leaves_a_resource_it_did_not_write_alone_and_quarantines_the_record(app, mint, settings, tmp_path,
                                                                                    synced):
    """Even a system client that writes into a source's id cannot make the next sync overwrite it."""
    plan = next(v for k, v in synced.items() if v.startswith("CarePlan/"))
    system = _system(app, mint)
    theirs = system.get(f"/fhir/{plan}").get_json()
    family = {**{k: v for k, v in theirs.items() if k != "meta"}, "description": "door de familie geschreven"}
    assert system.put(f"/fhir/{plan}", json=family, headers={"Content-Type": FHIR}).status_code == 200

    folder = tmp_path / "drop"
    doc = json.loads(DOC.read_text())
    doc["name"] = "Zorgnetwerk mevrouw Hendriks (bijgewerkt)"
    (folder / "a2.json").write_text(json.dumps(doc))
    engine = engine_for(settings)
    try:
        summary = sync(engine, source_for("ecd-map", "network-json", folder=str(folder)))
    finally:
        engine.dispose()
    assert summary.counts.quarantined == 1
    assert system.get(f"/fhir/{plan}").get_json()["description"] == "door de familie geschreven"
