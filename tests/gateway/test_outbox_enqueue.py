"""What families and clients write about a client a source owns is owed to that source: an outbox row
written in the same transaction as the resource, and nothing else is."""
import pytest
from outbox_world import fhir_source, message, network, write_config
from sqlalchemy import select

from gateway import create_app
from gateway.storage.db import make_engine
from gateway.storage.tables import outbox, resources

H = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def world(settings, tmp_path, mint):
    config = write_config(tmp_path, fhir_source("http://127.0.0.1:9/fhir"))
    app = create_app(settings.with_(config=config))
    http = app.test_client()
    system = {"Authorization": f"Bearer {mint('system/*.cruds')}", **H}
    for r in network():
        assert http.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=system).status_code == 201

    def as_(fhir_user):
        return {"Authorization": f"Bearer {mint('user/*.cruds', fhir_user=fhir_user)}", **H}

    yield http, as_, system
    app.extensions["samenzorg.engine"].dispose()


def _rows(settings):
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    engine.dispose()
    return rows


def test_a_daughters_logbook_message_is_owed_to_the_source_that_owns_her_mother(world, settings):
    http, as_, _ = world
    resp = http.post("/fhir/Communication", json=message(), headers=as_("RelatedPerson/dochter"))
    assert resp.status_code == 201
    rid = resp.headers["Location"].split("/")[-3]
    [row] = _rows(settings)
    assert (row.source, row.res_type, row.res_id, row.version, row.action, row.state, row.patient_id) == \
        ("ecd-oost", "Communication", rid, 1, "create", "pending", "moeder")
    assert row.idempotency_key == row.resource_key and len(row.idempotency_key) == 32


def test_writes_by_system_clients_and_about_clients_no_source_owns_are_not_owed(world, settings):
    http, as_, system = world
    assert http.post("/fhir/Communication", json=message(), headers=system).status_code == 201
    neighbour = message("RelatedPerson/buur-ander", "Patient/ander", "Stoep geveegd.")
    assert http.post("/fhir/Communication", json=neighbour, headers=as_("RelatedPerson/buur-ander")).status_code == 201
    assert _rows(settings) == []


def test_the_clients_own_message_and_the_mentors_consent_changes_are_owed_in_order(world, settings):
    http, as_, _ = world
    assert http.post("/fhir/Communication", json=message("Patient/moeder"), headers=as_("Patient/moeder")).status_code == 201
    grant = network()[5] | {"id": "c-mentor-grant"}
    grant.pop("id")
    created = http.post("/fhir/Consent", json=grant, headers=as_("RelatedPerson/mentor"))
    assert created.status_code == 201
    cid = created.headers["Location"].split("/")[-3]
    revoked = {**grant, "id": cid, "status": "inactive"}
    assert http.put(f"/fhir/Consent/{cid}", json=revoked, headers=as_("RelatedPerson/mentor")).status_code == 200
    assert http.delete(f"/fhir/Consent/{cid}", headers=as_("Patient/moeder")).status_code == 204
    rows = _rows(settings)
    assert [(r.res_type, r.action, r.version) for r in rows] == [
        ("Communication", "create", 1), ("Consent", "create", 1), ("Consent", "update", 2), ("Consent", "delete", 3)]
    consent_rows = rows[1:]
    # One identifier upstream for every version of the Consent; a key of its own per delivery.
    assert len({r.resource_key for r in consent_rows}) == 1
    assert len({r.idempotency_key for r in consent_rows}) == 3


def test_a_write_that_fails_leaves_neither_the_resource_nor_an_outbox_row(world, settings):
    http, as_, _ = world
    good = message(text="Eerste bericht.")
    bad = message(text="Tweede bericht.") | {"status": "not-a-status"}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": good, "request": {"method": "POST", "url": "Communication"}},
        {"resource": bad, "request": {"method": "POST", "url": "Communication"}}]}
    resp = http.post("/fhir", json=bundle, headers=as_("RelatedPerson/dochter"))
    assert resp.status_code in (400, 422), resp.get_json()  # the second entry is invalid: all rolled back
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(resources.c.res_id).where(resources.c.res_type == "Communication")).all()
    engine.dispose()
    assert stored == [] and _rows(settings) == []


def test_an_outbox_row_that_cannot_be_written_takes_the_write_with_it(world, settings, monkeypatch):
    """Same transaction, the other way round: if recording the delivery fails, the message is not stored."""
    from gateway.outbox import enqueue

    def broken(*args, **kwargs):
        raise RuntimeError("the outbox insert failed")

    http, as_, _ = world
    monkeypatch.setattr(enqueue, "insert", broken)
    resp = http.post("/fhir/Communication", json=message(), headers=as_("RelatedPerson/dochter"))
    assert resp.status_code == 500
    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(resources.c.res_id).where(resources.c.res_type == "Communication")).all()
    engine.dispose()
    assert stored == []
