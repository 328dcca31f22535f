"""Shared by the sync tests: a second Samenzorg as the FHIR upstream, sources, and reconciliation."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import func, select

from connectors.base import connector_for
from connectors.config import parse_config
from connectors.upstream import session_for
from gateway.config import Settings
from gateway.storage.db import make_engine
from gateway.storage.tables import quarantine, resources, sync_state
from gateway.sync import run_sync
from processes import serving

UPSTREAM_SECRET = "upstream-test-secret-not-for-production"
NETWORK_TYPES = ("Organization", "Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "CareTeam",
                 "Goal", "CarePlan", "Consent", "Communication")


@contextmanager
def samenzorg_upstream(tmp_path: Path):
    """A second Samenzorg, with the demo networks, as the record system; yields (base, system token)."""
    from gateway.auth import mint

    folder = tmp_path / "upstream"
    folder.mkdir()
    env = {**os.environ, "SAMENZORG_DATABASE_URL": f"sqlite:///{folder / 'upstream.db'}",
           "SAMENZORG_VAR_DIR": str(folder / "var"), "SAMENZORG_LOG_LEVEL": "WARNING",
           "SAMENZORG_JWT_SECRET": UPSTREAM_SECRET}
    with serving(env, folder, "--demo", "--workers", "1") as base:
        yield base, mint(Settings(jwt_secret=UPSTREAM_SECRET, var_dir=str(folder / "var")),
                         scope="system/*.cruds", fhir_user=None)


def source_for(name: str, kind: str, *, token: str | None = None, **body):
    if token is not None:
        body["auth"] = {"type": "bearer", "token_env": "UPSTREAM_TOKEN"}
    return parse_config({"sources": {name: {"kind": kind, **body}}}).source(name)


def sync(engine, source, *, token: str | None = None, full: bool = False, backoff: float = 0.05):
    session = session_for(source, {"UPSTREAM_TOKEN": token} if token else {}, backoff=backoff)
    return run_sync(engine, source, full=full, connector=connector_for(source, session))


def upstream_counts(base: str, token: str, types=NETWORK_TYPES) -> dict[str, int]:
    import requests

    out = {}
    for t in types:
        r = requests.get(f"{base}/fhir/{t}", params={"_summary": "count"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
        out[t] = r.json()["total"]
    return out


def local_counts(engine, source_uri: str) -> dict[str, int]:
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for res_type, body in conn.execute(select(resources.c.res_type, resources.c.body)
                                           .where(resources.c.deleted.is_(False))):
            if (orjson.loads(body).get("meta") or {}).get("source") == source_uri:
                out[res_type] = out.get(res_type, 0) + 1
    return out


def quarantined(engine, source_name: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(quarantine).where(quarantine.c.source == source_name)).all()


def state(engine, source_name: str):
    with engine.connect() as conn:
        return conn.execute(select(sync_state).where(sync_state.c.source == source_name)).first()


def count_rows(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def engine_for(settings):
    return make_engine(settings.database_url)
