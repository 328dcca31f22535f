"""The `samenzorg` command and a real server process on a free port."""
import json
import os

import pytest
import requests
from processes import run_cli, serving


def _env(database_url, tmp_path, settings):
    return {**os.environ, "SAMENZORG_DATABASE_URL": database_url, "SAMENZORG_VAR_DIR": str(tmp_path / "var"),
            "SAMENZORG_LOG_LEVEL": "WARNING", "SAMENZORG_JWT_SECRET": settings.jwt_secret}


@pytest.fixture
def run(database_url, tmp_path, settings):
    return lambda *args: run_cli(*args, env=_env(database_url, tmp_path, settings), cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("args", [[], ["serve"], ["db", "upgrade"], ["load"], ["token"], ["reindex"], ["import-network"]])
def test_every_command_has_help(args, run):
    result = run(*args, "--help")
    assert result.returncode == 0
    assert "usage: samenzorg" in result.stdout


def test_db_upgrade_is_idempotent(run):
    for _ in range(2):
        result = run("db", "upgrade")
        assert result.returncode == 0, result.stderr


def test_load_reads_ndjson_and_bundles_and_refuses_bad_files_whole(run, tmp_path, api):
    ndjson = tmp_path / "people.ndjson"
    ndjson.write_text("\n".join(json.dumps(r) for r in [
        {"resourceType": "Patient", "id": "p-ndjson", "name": [{"family": "Visser"}]},
        {"resourceType": "Organization", "id": "o-ndjson", "name": "Zorggroep Noord"},
    ]) + "\n")
    result = run("load", str(ndjson))
    assert result.returncode == 0, result.stderr
    assert "2 created" in result.stdout
    assert api.get("Patient/p-ndjson").get_json()["name"][0]["family"] == "Visser"

    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps({"resourceType": "Patient", "id": "p-good"}) + "\n"
                   + json.dumps({"resourceType": "Patient", "id": "p-bad", "birthDate": "morgen"}) + "\n")
    result = run("load", str(bad))
    assert result.returncode == 1
    assert "Patient.birthDate" in result.stderr
    assert api.get("Patient/p-good").status_code == 404

    again = run("load", str(ndjson))
    assert "2 unchanged or updated" in again.stdout


@pytest.fixture
def server(database_url, tmp_path, settings):
    with serving(_env(database_url, tmp_path, settings), tmp_path, "--workers", "2") as base:
        yield base


def test_a_real_server_process_serves_the_fhir_api(server, mint):
    session = requests.Session()
    headers = {"Content-Type": "application/fhir+json"}
    assert session.get(f"{server}/fhir/Patient", timeout=5).status_code == 401
    session.headers["Authorization"] = f"Bearer {mint('system/*.cruds')}"
    assert session.get(f"{server}/fhir/metadata", timeout=5).json()["resourceType"] == "CapabilityStatement"
    created = session.post(f"{server}/fhir/Patient", data=json.dumps({"resourceType": "Patient", "gender": "female"}),
                           headers=headers, timeout=5)
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith(f"{server}/fhir/Patient/")
    pid = created.json()["id"]
    body = {**created.json(), "gender": "male"}
    assert session.put(f"{server}/fhir/Patient/{pid}", data=json.dumps(body), headers=headers, timeout=5).status_code == 200
    assert session.get(f"{server}/fhir/Patient/{pid}", timeout=5).json()["gender"] == "male"
    assert len(session.get(f"{server}/fhir/Patient/{pid}/_history", timeout=5).json()["entry"]) == 2
    assert session.delete(f"{server}/fhir/Patient/{pid}", timeout=5).status_code == 204
    gone = session.get(f"{server}/fhir/Patient/{pid}", timeout=5)
    assert gone.status_code == 410 and gone.json()["resourceType"] == "OperationOutcome"


def test_concurrent_updates_with_if_match_let_exactly_one_win(server, mint):
    import concurrent.futures

    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {mint('system/*.cruds')}"}
    created = requests.post(f"{server}/fhir/Patient", data=json.dumps({"resourceType": "Patient"}),
                            headers=headers, timeout=5).json()

    def update(i):
        body = {**created, "name": [{"family": f"Writer{i}"}]}
        return requests.put(f"{server}/fhir/Patient/{created['id']}", data=json.dumps(body),
                            headers={**headers, "If-Match": 'W/"1"'}, timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(update, range(8)))
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 409, 412}
    history = requests.get(f"{server}/fhir/Patient/{created['id']}/_history", headers=headers, timeout=5).json()
    assert len(history["entry"]) == 2


def test_reindex_rebuilds_lost_index_rows(run, api, app, patient):
    from sqlalchemy import delete

    from gateway.storage.tables import INDEX_TABLES

    api.create(patient(family="Herindex"))
    with app.extensions["samenzorg.engine"].begin() as conn:
        for table in INDEX_TABLES.values():
            conn.execute(delete(table))
    assert api.get("Patient?family=Herindex").get_json()["total"] == 0
    result = run("reindex")
    assert result.returncode == 0, result.stderr
    assert "reindexed 1 resources" in result.stdout
    assert api.get("Patient?family=Herindex").get_json()["total"] == 1
