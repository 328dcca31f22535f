"""Importing care-network documents: $import-network, the CLI, and what carers then see."""
import json
import os
from pathlib import Path

import pytest
from processes import run_cli
from sqlalchemy import func, select

from gateway.storage.tables import resource_history, resources
from mappings import fhir_to_network, load_network

NETWORKS = Path(__file__).resolve().parents[2] / "fixtures" / "networks"
DEMENTIA = NETWORKS / "a-dementie-dochter-en-buurman.json"
H = {"Content-Type": "application/json"}


def _doc(path=DEMENTIA):
    return json.loads(path.read_text())


def _counts(app):
    with app.extensions["samenzorg.engine"].connect() as conn:
        return (conn.execute(select(func.count()).select_from(resources)).scalar_one(),
                conn.execute(select(func.count()).select_from(resource_history)).scalar_one())


def _import(client, doc):
    return client.post("/fhir/$import-network", json=doc, headers=H)


def _refs(parameters, change):
    return [p["valueReference"]["reference"] for p in parameters["parameter"] if p["name"] == change]


def test_import_creates_linked_resources_and_reports_them(client, app):
    resp = _import(client, _doc())
    assert resp.status_code == 200, resp.get_json()
    params = resp.get_json()
    created = _refs(params, "created")
    assert created and not _refs(params, "updated")
    types = {r.split("/")[0] for r in created}
    assert {"Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization", "CareTeam",
            "CarePlan", "Goal", "Communication", "Consent"} <= types
    assert _counts(app)[0] == len(created)


def test_importing_the_same_document_twice_creates_nothing_new(client, app):
    _import(client, _doc())
    before = _counts(app)
    second = _import(client, _doc()).get_json()
    assert _refs(second, "created") == [] and _refs(second, "updated") == []
    assert _counts(app) == before  # no new resources and no new versions


def test_a_changed_document_updates_in_place(client, app):
    first = _import(client, _doc()).get_json()
    doc = _doc()
    doc["client"]["telecom"][0]["value"] = "0570-000000"
    second = _import(client, doc).get_json()
    assert len(_refs(second, "updated")) == 1 and _refs(second, "created") == []
    (patient_ref,) = _refs(second, "updated")
    assert patient_ref in _refs(first, "created")
    assert client.get(f"/fhir/{patient_ref}").get_json()["telecom"][0]["value"] == "0570-000000"


def test_an_invalid_document_is_refused_whole_with_every_problem_listed(client, app):
    doc = _doc()
    doc["members"][0]["roles"] = ["not-a-role"]
    doc["agreements"][0]["performers"] = ["NOBODY"]
    doc["client"]["birthDate"] = "14-03-1936"
    resp = _import(client, doc)
    assert resp.status_code == 422
    paths = {e for issue in resp.get_json()["issue"] for e in issue.get("expression", [])}
    assert len(paths) >= 3, paths
    assert any(p.startswith("members[0].roles") for p in paths)
    assert any(p.startswith("agreements[0].performers") for p in paths)
    assert any(p.startswith("client.birthDate") for p in paths)
    assert _counts(app) == (0, 0)


def test_only_system_clients_may_import(anonymous, mint):
    token = mint("user/*.cruds", fhir_user="Practitioner/x")
    resp = anonymous.post("/fhir/$import-network", json=_doc(), headers={**H, "Authorization": f"Bearer {token}"})
    assert resp.status_code == 403


def test_stored_resources_map_back_to_the_same_document(client):
    _import(client, _doc())
    found = []
    for rtype in ("Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization", "CareTeam",
                  "CarePlan", "Goal", "Communication", "Consent"):
        bundle = client.get(f"/fhir/{rtype}?_count=500").get_json()
        found += [e["resource"] for e in bundle.get("entry", [])]
    assert fhir_to_network(found) == load_network(_doc())


@pytest.fixture
def imported(client):
    """The dementia network, with the ids the server gave its people."""
    _import(client, _doc())
    base = _doc()["source"]["system"]

    def ref(rtype, kind, ecd_id):
        bundle = client.get(f"/fhir/{rtype}?identifier={base}/{kind}|{ecd_id}").get_json()
        (entry,) = bundle["entry"]
        return f"{rtype}/{entry['resource']['id']}"

    return {"patient": ref("Patient", "client", "CL-204811"),
            "daughter": ref("RelatedPerson", "member", "REL-61001"),
            "neighbour": ref("RelatedPerson", "member", "REL-61002"),
            "own_agreements": [ref("CarePlan", "agreement", a) for a in ("AFS-7001", "AFS-7002")]}


def _ids(anonymous, token, query):
    bundle = anonymous.get(f"/fhir/{query}", headers={"Authorization": f"Bearer {token}"}).get_json()
    return sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", []))


def test_imported_sharing_choices_govern_what_carers_see(imported, anonymous, mint):
    daughter = mint("user/*.cruds", fhir_user=imported["daughter"])
    neighbour = mint("user/*.cruds", fhir_user=imported["neighbour"])
    assert len(_ids(anonymous, daughter, "CarePlan")) == 5
    assert _ids(anonymous, daughter, "CareTeam")
    assert _ids(anonymous, daughter, "Communication")
    assert _ids(anonymous, neighbour, "CarePlan") == sorted(imported["own_agreements"])
    assert _ids(anonymous, neighbour, "Communication") == []
    assert _ids(anonymous, neighbour, "CareTeam") == []


def test_cli_import_network_imports_each_file_once(tmp_path, settings, database_url):
    env = {**os.environ, "SAMENZORG_DATABASE_URL": database_url, "SAMENZORG_VAR_DIR": str(tmp_path),
           "SAMENZORG_JWT_SECRET": settings.jwt_secret, "SAMENZORG_LOG_LEVEL": "WARNING"}
    files = sorted(str(p) for p in NETWORKS.glob("*.json"))

    def run(*args):
        return run_cli("import-network", *args, env=env, timeout=300)

    first = run(*files)
    assert first.returncode == 0, first.stderr
    assert all(" 0 updated, 0 unchanged" in line for line in first.stdout.splitlines())
    again = run(*files)
    assert all(" 0 created, 0 updated" in line for line in again.stdout.splitlines())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**_doc(), "client": {}}))
    refused = run(str(bad))
    assert refused.returncode == 1 and "client" in refused.stderr


def test_members_who_left_see_nothing_and_newcomers_see_their_share(client, anonymous, mint):
    path = NETWORKS / "f-netwerk-in-verandering.json"
    doc = _doc(path)
    assert _import(client, doc).status_code == 200
    base = doc["source"]["system"]

    def member(rtype, ecd_id):
        kind_type = "PractitionerRole" if rtype == "Practitioner" else rtype
        (entry,) = client.get(f"/fhir/{kind_type}?identifier={base}/member|{ecd_id}").get_json()["entry"]
        res = entry["resource"]
        return res["practitioner"]["reference"] if rtype == "Practitioner" else f"RelatedPerson/{res['id']}"

    def visible(user, rtype):
        return _ids(anonymous, mint("user/*.rs", fhir_user=user), rtype)

    left_friend, new_neighbour = member("RelatedPerson", "REL-G-22"), member("RelatedPerson", "REL-G-23")
    left_nurse, new_nurse = member("Practitioner", "MDW-G-81"), member("Practitioner", "MDW-G-82")
    for rtype in ("CareTeam", "CarePlan", "Communication", "Patient"):
        assert visible(left_friend, rtype) == [], rtype
        assert visible(left_nurse, rtype) == [], rtype
    assert visible(new_neighbour, "CarePlan")  # the agreements he performs
    assert visible(new_neighbour, "Communication") == []
    assert visible(new_nurse, "Patient") and visible(new_nurse, "CarePlan")


def test_demo_tokens_let_each_demo_person_in_as_themselves(client, anonymous, settings):
    from gateway.demo import demo_tokens

    for path in sorted(NETWORKS.glob("*.json"))[:2]:
        assert _import(client, _doc(path)).status_code == 200
    tokens = {label: (user, token) for label, user, token in demo_tokens(settings, NETWORKS)}
    daughter = next(v for k, v in tokens.items() if "Marieke Hendriks" in k)
    neighbour = next(v for k, v in tokens.items() if "Kees Bosman" in k)
    nurse = next(v for k, v in tokens.items() if "wijkverpleegkundige" in k and k.startswith("a-"))
    assert len(_ids(anonymous, daughter[1], "CarePlan")) == 5
    assert len(_ids(anonymous, neighbour[1], "CarePlan")) == 2
    assert len(_ids(anonymous, nurse[1], "CarePlan")) == 5
    assert tokens["system client (ECD)"][0] == "-"
