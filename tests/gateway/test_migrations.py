"""The Alembic migrations build exactly the schema the code declares, on both databases."""
from sqlalchemy import text

from gateway.storage.db import current_revision, head_revision, make_engine, schema_diff


def test_migrated_schema_matches_the_declared_tables(database_url):
    assert schema_diff(database_url) == []


def test_migrated_database_is_at_head(database_url):
    assert current_revision(database_url) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(database_url):
    engine = make_engine(database_url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_0003_fills_each_stored_versions_compartment(tmp_path):
    """Versions stored before migration 0003 get their compartment rows (a delete: its last version's)."""
    import orjson
    from datetime import datetime

    from gateway.storage.db import upgrade
    from gateway.storage.tables import history_compartment, resource_history

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    plan = {"resourceType": "CarePlan", "id": "p", "status": "active", "intent": "plan"}
    versions = [(1, "PUT", {**plan, "subject": {"reference": "Patient/b"}}),
                (2, "PUT", {**plan, "subject": {"reference": "Patient/a"}}),
                (3, "DELETE", None)]
    engine = make_engine(url)
    with engine.begin() as conn:
        for version, method, body in versions:
            conn.execute(resource_history.insert().values(
                res_type="CarePlan", res_id="p", version=version, method=method, last_updated=datetime(2026, 1, 1),
                body=orjson.dumps(body) if body else None))
        conn.execute(resource_history.insert().values(
            res_type="Practitioner", res_id="x", version=1, method="PUT", last_updated=datetime(2026, 1, 1),
            body=orjson.dumps({"resourceType": "Practitioner", "id": "x"})))
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(history_compartment.select().order_by(history_compartment.c.seq)).all()
    engine.dispose()
    assert [(r.seq, r.patient_id) for r in rows] == [(1, "b"), (2, "a"), (3, "a")]


def test_upgrade_rebuilds_index_rows_written_under_older_rules(tmp_path):
    """A Consent stored before provision-actor existed is found by it after `db upgrade`; a
    second upgrade rebuilds nothing."""
    import orjson
    from datetime import datetime

    from gateway.storage.db import upgrade
    from gateway.storage.tables import idx_reference, resources

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003")
    body = {"resourceType": "Consent", "id": "c", "status": "active", "patient": {"reference": "Patient/p"},
            "provision": {"type": "deny", "provision": [
                {"type": "permit", "actor": [{"reference": {"reference": "RelatedPerson/r"}}]}]}}
    engine = make_engine(url)
    with engine.begin() as conn:  # as the old code left it: no index rows at all
        conn.execute(resources.insert().values(res_type="Consent", res_id="c", version=1, deleted=False,
                                               last_updated=datetime(2026, 1, 1), body=orjson.dumps(body)))
    upgrade(url)
    with engine.connect() as conn:
        rows = conn.execute(idx_reference.select().where(idx_reference.c.param == "provision-actor")).all()
    engine.dispose()
    assert [(r.target_type, r.target_id) for r in rows] == [("RelatedPerson", "r")]
    from gateway.repository import refresh_index

    engine = make_engine(url)
    assert refresh_index(engine) == 0
    engine.dispose()


def test_0010_gives_stored_subscriptions_their_end(tmp_path):
    """Subscriptions stored before 0010 get `ends_at` from their resource's `end` (in UTC)."""
    import orjson
    from datetime import datetime

    from gateway.storage.db import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0009")
    engine = make_engine(url)
    with engine.begin() as conn:
        for res_id, end in (("ends", "2027-03-01T10:00:00+01:00"), ("never", None)):
            body = {"resourceType": "Subscription", "id": res_id, "status": "active", **({"end": end} if end else {})}
            conn.execute(text("INSERT INTO resources (res_type, res_id, version, last_updated, deleted, body) "
                              "VALUES ('Subscription', :id, 1, :t, 0, :body)"),
                         {"id": res_id, "t": datetime(2026, 1, 1), "body": orjson.dumps(body)})
            conn.execute(text("INSERT INTO subscriptions (res_id, owner, role, scopes, criteria_type, criteria, "
                              "endpoint, headers, base_url, status, failures) VALUES (:id, 'system', 'system', '', "
                              "'Communication', '', 'https://x.example/hook', '[]', 'http://localhost/fhir', "
                              "'active', 0)"), {"id": res_id})
    upgrade(url)
    with engine.connect() as conn:
        ends = dict(conn.execute(text("SELECT res_id, ends_at FROM subscriptions")).all())
    engine.dispose()
    assert {k: v if v is None else str(v)[:19] for k, v in ends.items()} == {"ends": "2027-03-01 09:00:00", "never": None}


def test_0011_names_the_agent_of_each_pending_audit_record(tmp_path):
    """Records appended before 0011 get the agent they were shown to, from their requestor."""
    import orjson
    from datetime import datetime

    from gateway import audit, audit_store
    from gateway.storage.db import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0010")
    engine = make_engine(url)
    event = audit_store.events("RelatedPerson/dochter", "familieportaal",
                               [audit.Disclosure("read", patients=["Patient/moeder"], resources=["CarePlan/c1"])],
                               datetime(2026, 1, 1))[0]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (recorded, body) VALUES (:t, :body)"),
                     {"t": datetime(2026, 1, 1), "body": orjson.dumps(event)})
    upgrade(url)
    assert audit_store.pending(engine, "RelatedPerson/dochter") and not audit_store.pending(engine, "RelatedPerson/x")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT agent FROM audit_log")).scalar_one() == "RelatedPerson/dochter"
    engine.dispose()
