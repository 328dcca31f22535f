"""Pooled PostgreSQL connections: pinged only after lying idle, and replaced when the server dropped them."""
import psycopg
import pytest

from gateway.storage import db

FHIR = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def pg(app):
    engine = app.extensions["samenzorg.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite opens a file: no server to drop a connection")
    return engine


def _drop_every_other_connection(engine):
    """As a server restart or an idle timeout would: every backend of this database but ours ends."""
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        ended = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
    assert ended >= 1


def test_a_connection_the_server_dropped_while_it_lay_idle_is_replaced_before_use(pg, client, monkeypatch):
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=FHIR).status_code == 201
    assert client.get("/fhir/Patient/p1").status_code == 200
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # everything in the pool has lain idle long enough
    _drop_every_other_connection(pg)
    response = client.get("/fhir/Patient/p1")
    assert response.status_code == 200, response.get_json()


def test_a_request_on_a_connection_dropped_while_in_use_is_told_to_retry_and_the_next_one_is_served(
        pg, client, monkeypatch):
    """A connection used moments ago is not pinged: if the server dropped it meanwhile (a restart),
    that request answers 503 with Retry-After, not a 500, and the pool lets go of its connections."""
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=FHIR).status_code == 201
    assert client.get("/fhir/Patient/p1").status_code == 200
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 1e9)  # nothing in the pool counts as idle
    _drop_every_other_connection(pg)
    lost = client.get("/fhir/Patient/p1")
    assert lost.status_code == 503, lost.get_json()
    assert lost.headers["Retry-After"] == "1"
    assert lost.get_json()["issue"][0]["code"] == "transient"
    assert client.get("/fhir/Patient/p1").status_code == 200
