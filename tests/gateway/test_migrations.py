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
