"""Shared fixtures: a real database (SQLite file, or PostgreSQL when
SAMENZORG_TEST_DATABASE_URL is set) and a fresh Flask app per test."""
from __future__ import annotations

import os
import shutil
import sys

import pytest
from sqlalchemy import text

from gateway import create_app
from gateway.config import Settings
from gateway.storage.db import make_engine, upgrade
from gateway.storage.tables import metadata

PG_URL = os.environ.get("SAMENZORG_TEST_DATABASE_URL")

# pytest runs with --import-mode=importlib, which puts no test folder on sys.path;
# the shared builders (fhir_builders, consent_builders) are imported from these.
for _folder in ("gateway", "consent"):
    _path = os.path.join(os.path.dirname(os.path.abspath(__file__)), _folder)
    if _path not in sys.path:
        sys.path.insert(0, _path)


@pytest.fixture(scope="session")
def _template(tmp_path_factory):
    """The migrated schema, made once per session."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:  # start from nothing: earlier runs may have left tables
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(_template, tmp_path):
    """A migrated, empty database for one test."""
    if PG_URL:
        engine = make_engine(PG_URL)
        names = ", ".join(t.name for t in metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return PG_URL
    path = tmp_path / "samenzorg.db"
    shutil.copy(_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url, tmp_path):
    return Settings(database_url=database_url, var_dir=str(tmp_path / "var"),
                    jwt_secret="test-only-secret-not-for-production", log_level="WARNING")


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    app.extensions["samenzorg.engine"].dispose()


@pytest.fixture
def mint(settings):
    """mint(scope, fhir_user=None, **kw) -> a signed token for this test's server."""
    from gateway.auth import mint as _mint

    return lambda scope, fhir_user=None, **kw: _mint(settings, scope=scope, fhir_user=fhir_user, **kw)


@pytest.fixture
def client(app, mint):
    """A test client acting as a system client with full scopes (an ECD)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('system/*.cruds')}"
    return client


@pytest.fixture
def anonymous(app):
    return app.test_client()


FHIR_JSON = "application/fhir+json"


class Api:
    """The test client, speaking FHIR JSON."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **headers):
        return self.client.get(f"/fhir/{path}", headers=headers)

    def post(self, path, resource, **headers):
        return self.client.post(f"/fhir/{path}", json=resource, headers={"Content-Type": FHIR_JSON, **headers})

    def put(self, path, resource, **headers):
        return self.client.put(f"/fhir/{path}", json=resource, headers={"Content-Type": FHIR_JSON, **headers})

    def delete(self, path, **headers):
        return self.client.delete(f"/fhir/{path}", headers=headers)

    def create(self, resource) -> dict:
        resp = self.post(resource["resourceType"], resource)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()


@pytest.fixture
def api(client):
    return Api(client)


def make_patient(family="de Vries", given="Anna", bsn=None, **extra):
    res = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}],
           "gender": "female", "birthDate": "1938-04-12"}
    if bsn:
        res["identifier"] = [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": bsn}]
    res.update(extra)
    return res


@pytest.fixture
def patient():
    return make_patient
