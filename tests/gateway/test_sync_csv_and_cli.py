"""csv exports (over HTTP and from a folder), and the sources / sync / quarantine commands."""
import os
import tomllib
from pathlib import Path

import pytest
from processes import run_cli
from pull_upstreams import fake_ecd
from sync_helpers import engine_for, local_counts, quarantined, sync

from connectors.config import parse_config

CSV = Path(__file__).resolve().parents[2] / "fixtures" / "csv"


def csv_source(**where):
    config = tomllib.loads((CSV / "samenzorg.toml").read_text())
    body = config["sources"]["ecd-oud"]
    body.pop("folder")
    body.update(where)
    return parse_config(config).source("ecd-oud")


def exports() -> dict[str, str]:
    return {p.name: p.read_text() for p in CSV.glob("*.csv")}


@pytest.fixture
def engine(settings):
    engine = engine_for(settings)
    yield engine
    engine.dispose()


def test_a_csv_export_syncs_per_client_and_a_later_export_updates_deletes_and_quarantines(engine):
    with fake_ecd(csv_files=exports()) as ecd:
        source = csv_source(base_url=f"{ecd.base}/csv")
        first = sync(engine, source)
        assert first.error is None and first.counts.fetched == 3 and first.counts.quarantined == 0
        here = local_counts(engine, source.uri)
        assert (here["Patient"], here["CareTeam"], here["CarePlan"], here["Communication"]) == (3, 3, 3, 3)
        assert here["RelatedPerson"] == 4 and here["Practitioner"] == 1

        files = ecd.csv_files
        for name in ("clienten.csv", "contactpersonen.csv"):  # client C-1003 leaves the ECD
            files[name] = "\n".join(l for l in files[name].splitlines() if "C-1003" not in l) + "\n"
        files["logboek.csv"] = files["logboek.csv"].replace("slecht geslapen", "weer goed geslapen")
        files["contactpersonen.csv"] += "C-9999;R-9;informal;Onbekend;Piet;;;;;;\n"
        second = sync(engine, source)

        assert second.error is None
        assert second.counts.fetched == 3  # C-1002 changed, C-9999's stray row, C-1003's deletion
        assert second.counts.updated == 1 and second.counts.created == 0
        assert second.counts.quarantined == 1
        [held] = quarantined(engine, "ecd-oud")
        assert "C-9999" in held.reason and "clienten.csv" in held.reason
        here = local_counts(engine, source.uri)
        assert (here["Patient"], here["CareTeam"], here["RelatedPerson"]) == (2, 2, 3)

        third = sync(engine, source)  # nothing changed since
        assert third.counts.fetched == 0 and third.error is None


def _env(settings, tmp_path, config: Path):
    return {**os.environ, "SAMENZORG_DATABASE_URL": settings.database_url, "SAMENZORG_VAR_DIR": str(tmp_path / "var"),
            "SAMENZORG_LOG_LEVEL": "WARNING", "SAMENZORG_JWT_SECRET": settings.jwt_secret,
            "SAMENZORG_CONFIG": str(config)}


def test_the_commands_sync_a_source_show_its_state_and_manage_its_quarantine(settings, tmp_path):
    config = tomllib.loads((CSV / "samenzorg.toml").read_text())
    config["sources"]["ecd-oud"]["folder"] = str(CSV)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "kapot.json").write_text('{"id": "NW-1", "client": ')
    lines = [f'[sources.ecd-map]\nkind = "network-json"\nfolder = "{drop}"\n']
    path = tmp_path / "samenzorg.toml"
    path.write_text("\n".join(lines))
    with open(path, "a") as f:  # the csv example, pointed at the fixtures folder
        f.write((CSV / "samenzorg.toml").read_text().replace('folder = "fixtures/csv"', f'folder = "{CSV}"'))
    env = _env(settings, tmp_path, path)

    def run(*args):
        return run_cli(*args, env=env, cwd=tmp_path, timeout=120)

    for args in (["sources"], ["sync"], ["quarantine"], ["quarantine", "retry"]):
        assert run(*args, "--help").returncode == 0

    done = run("sync", "ecd-oud")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("ecd-oud: fetched 3, created 18, updated 0, deleted 0, unchanged 0, "
                                          "quarantined 0 in ")
    held = run("sync", "ecd-map")
    assert held.returncode == 0 and "quarantined 1" in held.stdout

    listed = run("sources")
    assert "ecd-oud  csv" in listed.stdout and "last run: fetched 3, created 18" in listed.stdout
    assert "ecd-map  network-json" in listed.stdout

    q = run("quarantine", "list")
    assert "ecd-map  CareTeam/kapot" in q.stdout and "1 quarantined" in q.stdout
    qid = q.stdout.split()[0]
    shown = run("quarantine", "show", qid)
    assert "not valid JSON" in shown.stdout and '{"id": "NW-1", "client": ' in shown.stdout
    again = run("quarantine", "retry", qid)
    assert again.returncode == 1 and "still quarantined" in again.stdout
    assert run("quarantine", "drop", qid).returncode == 0
    assert "0 quarantined" in run("quarantine", "list").stdout

    unknown = run("sync", "nergens")
    assert unknown.returncode == 2 and "no source named 'nergens'" in unknown.stderr


def test_a_record_held_back_by_a_resource_someone_else_wrote_is_stored_by_a_retry_once_that_is_gone(
        settings, app, mint, tmp_path):
    from gateway.quarantine import retry
    from gateway.sync_store import local_id
    from sqlalchemy import select
    from gateway.storage.tables import quarantine

    source = csv_source(folder=str(CSV))
    engine = engine_for(settings)
    try:
        patient = f"Patient/{local_id('ecd-oud', 'Patient', _patient_upstream_id(source, 'C-1002'))}"
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('system/*.cruds')}"
        blocker = {"resourceType": "Patient", "id": patient.split("/")[1], "name": [{"family": "Ander"}]}
        assert client.put(f"/fhir/{patient}", json=blocker,
                          headers={"Content-Type": "application/fhir+json"}).status_code == 201
        assert sync(engine, source).counts.quarantined == 1
        assert client.delete(f"/fhir/{patient}").status_code in (200, 204)

        with engine.connect() as conn:
            rows = conn.execute(select(quarantine)).all()
        assert [outcome for *_, outcome in retry(engine, parse_config(
            {"sources": {"ecd-oud": {"kind": "csv", "folder": str(CSV), "options": dict(source.options)}}}),
            rows)] == ["stored"]
        assert quarantined(engine, "ecd-oud") == []
        assert local_counts(engine, source.uri)["Patient"] == 3
    finally:
        engine.dispose()


def _patient_upstream_id(source, client_id):
    from connectors.base import connector_for

    connector = connector_for(source)
    for page in connector.pull(None):
        for change in page.changes:
            if change.identity.upstream_id == client_id:
                return next(r["id"] for r in change.resources if r["resourceType"] == "Patient")
    raise AssertionError(client_id)


def test_the_readme_example_sources_are_a_valid_config():
    import re

    readme = (CSV.parents[1] / "README.md").read_text()
    block = re.search(r"```toml\n(.*?)```", readme[readme.index("## Connectors"):], re.S).group(1)
    config = parse_config(tomllib.loads(block))
    assert {s.kind for s in config.sources.values()} == {"fhir", "network-json", "csv"}
    assert config.source("ecd-oost").auth.client_secret_env == "ECD_OOST_SECRET"
