"""Syncing from a FHIR upstream: a second, real Samenzorg process holding the demo networks."""
import pytest
import requests
from pull_upstreams import Fault, fake_ecd
from sync_helpers import (engine_for, local_counts, quarantined, samenzorg_upstream, source_for,
                          state, sync, upstream_counts)


@pytest.fixture
def upstream(tmp_path):
    with samenzorg_upstream(tmp_path) as (base, token):
        yield base, token


@pytest.fixture
def engine(settings):
    engine = engine_for(settings)
    yield engine
    engine.dispose()


def test_a_full_sync_stores_every_upstream_resource_once_and_a_second_run_changes_nothing(upstream, engine):
    base, token = upstream
    source = source_for("ecd-oost", "fhir", base_url=f"{base}/fhir", token=token, options={"page_size": 7})
    first = sync(engine, source, token=token)
    assert first.error is None
    wanted = {t: n for t, n in upstream_counts(base, token).items() if n}
    assert local_counts(engine, source.uri) == wanted
    assert first.counts.created == sum(wanted.values())
    assert first.counts.quarantined == 0 and quarantined(engine, "ecd-oost") == []

    again = sync(engine, source, token=token)
    assert again.error is None
    assert again.counts.created == again.counts.updated == again.counts.deleted == 0
    assert local_counts(engine, source.uri) == wanted


def _put(base, token, path, resource):
    r = requests.put(f"{base}/fhir/{path}", json=resource, timeout=30,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})
    assert r.status_code in (200, 201), r.text
    return r.json()


def _get(base, token, path, **params):
    r = requests.get(f"{base}/fhir/{path}", params=params, timeout=30, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_an_incremental_sync_brings_the_newest_version_of_an_update_and_a_delete_upstream(upstream, engine, app):
    base, token = upstream
    source = source_for("ecd-oost", "fhir", base_url=f"{base}/fhir", token=token, options={"page_size": 5})
    assert sync(engine, source, token=token).error is None

    patient = _get(base, token, "Patient", _count=1)["entry"][0]["resource"]
    for family in ("Eerste-Wijziging", "Tweede-Wijziging"):  # two versions: history holds both, newest first
        patient["name"][0]["family"] = family
        _put(base, token, f"Patient/{patient['id']}", patient)
    message = _get(base, token, "Communication", _count=1)["entry"][0]["resource"]
    gone = requests.delete(f"{base}/fhir/Communication/{message['id']}", timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code in (200, 204)

    summary = sync(engine, source, token=token)

    assert summary.error is None
    assert (summary.counts.created, summary.counts.updated, summary.counts.deleted) == (0, 1, 1)
    from gateway.sync_store import local_id
    client = app.test_client()
    from gateway.auth import mint
    auth = {"Authorization": f"Bearer {mint(app.config['SAMENZORG'], scope='system/*.rs')}"}
    mine = client.get(f"/fhir/Patient/{local_id('ecd-oost', 'Patient', patient['id'])}", headers=auth).get_json()
    assert mine["name"][0]["family"] == "Tweede-Wijziging"
    assert mine["meta"]["source"] == "urn:samenzorg:source:ecd-oost"
    assert {"system": "urn:samenzorg:source:ecd-oost", "value": f"Patient/{patient['id']}"} in mine["identifier"]
    deleted = client.get(f"/fhir/Communication/{local_id('ecd-oost', 'Communication', message['id'])}", headers=auth)
    assert deleted.status_code == 410
    wanted = {t: n for t, n in upstream_counts(base, token).items() if n}
    assert local_counts(engine, source.uri) == wanted


def test_an_invalid_resource_is_quarantined_the_rest_synced_and_a_full_sync_after_the_fix_stores_it(upstream, engine):
    base, token = upstream
    broken = Fault("/fhir/Patient", times=100, rewrite=('"gender":"female"', '"gender":"vrouw"'))
    with fake_ecd(fhir_target=base, faults=[broken]) as ecd:
        source = source_for("ecd-oost", "fhir", base_url=f"{ecd.base}/fhir", token=token)
        summary = sync(engine, source, token=token)
        assert summary.error is None
        held = quarantined(engine, "ecd-oost")
        assert held and summary.counts.quarantined == len(held)
        assert all(q.record.startswith("Patient/") and "gender" in q.reason for q in held)
        up = {t: n for t, n in upstream_counts(base, token).items() if n}
        here = local_counts(engine, source.uri)
        assert here.get("Patient", 0) + len(held) == up["Patient"]  # every record stored or quarantined
        assert {t: n for t, n in here.items() if t != "Patient"} == {t: n for t, n in up.items() if t != "Patient"}

        broken.times = 0  # the upstream is fixed
        again = sync(engine, source, token=token, full=True)
        assert again.error is None and again.counts.quarantined == 0
        assert quarantined(engine, "ecd-oost") == []
        assert local_counts(engine, source.uri) == up


def test_a_next_link_to_another_host_is_refused_and_what_came_before_is_kept(upstream, engine):
    base, token = upstream
    with fake_ecd(fhir_target=base) as ecd:
        ecd.faults.append(Fault("/fhir/Patient/_history", times=1,
                                rewrite=(f'"relation":"next","url":"{ecd.base}', '"relation":"next","url":"http://elsewhere.example')))
        source = source_for("ecd-oost", "fhir", base_url=f"{ecd.base}/fhir", token=token, options={"page_size": 2})
        summary = sync(engine, source, token=token)
        assert summary.error and "another host" in summary.error
        assert not any("elsewhere" in path for _, path in ecd.seen)
        assert state(engine, "ecd-oost").running


def test_without_history_it_searches_by_last_updated_and_fetches_the_people_a_care_team_names(upstream, engine):
    base, token = upstream
    no_history = Fault("/fhir/metadata", times=2, rewrite=('{"code":"history-type"},', ""))
    with fake_ecd(fhir_target=base, faults=[no_history]) as ecd:  # an upstream that does not offer history
        source = source_for("ecd-oost", "fhir", base_url=f"{ecd.base}/fhir", token=token,
                            options={"types": ["CareTeam", "CarePlan"]})
        first = sync(engine, source, token=token)
        assert first.error is None
        assert not any("_history" in path for _, path in ecd.seen)
        here = local_counts(engine, source.uri)
        up = upstream_counts(base, token, ("CareTeam", "CarePlan", "Patient"))
        assert here["CareTeam"] == up["CareTeam"] and here["CarePlan"] == up["CarePlan"]
        assert here["Patient"] == up["Patient"]  # each client, fetched because a care team names them
        assert here.get("RelatedPerson") and here.get("Practitioner")

        ecd.seen.clear()
        plan = _get(base, token, "CarePlan", _count=1)["entry"][0]["resource"]
        plan["description"] = "Aangepast in het ECD"
        _put(base, token, f"CarePlan/{plan['id']}", plan)
        again = sync(engine, source, token=token)
        assert again.error is None and again.counts.updated == 1 and again.counts.created == 0
        assert any("_lastUpdated=ge" in path for _, path in ecd.seen)
        assert not any("/Patient/" in path for _, path in ecd.seen)  # known already: not fetched again
