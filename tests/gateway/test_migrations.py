"""The Alembic migrations build exactly the schema the code declares, on both databases."""
from sqlalchemy import text

from gateway.storage.db import current_revision, head_revision, make_engine, schema_diff


def test_migrated_schema_matches_the_declared_tables(database_url):
    assert schema_diff(database_url) == []


def test_migrated_database_is_at_head(database_url):
    assert current_revision(database_url) == head_revision()


def test_sqlite_runs_in_wal_mode(database_url):
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
