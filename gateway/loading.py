"""Loading data from files: Bundles, NDJSON and (for the demo) network documents.

Everything goes through the same bundle handler as `POST /fhir`, so a file
load validates and indexes exactly like the API does. Each file is one
transaction: it loads whole or not at all.
"""
from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import func, select

from .access import Access
from .config import Settings
from .errors import BadRequest
from .fhirhttp import FhirRequest
from .interactions import Context
from .interactions.bundle import process
from .repository import Repository
from .validation import parse_json
from .storage.db import make_engine
from .storage.tables import resources


def _parse(path: Path, raw: bytes) -> object:
    """JSON from a file, held to the same rules (and limits) as a request body."""
    try:
        return parse_json(raw)
    except BadRequest as exc:
        raise BadRequest(f"{path}: {exc.diagnostics}") from None


def read_bundle(path: Path) -> dict:
    """A file as a batch/transaction Bundle: NDJSON and collections become transactions."""
    raw = path.read_bytes()
    if path.suffix == ".ndjson":
        lines = [line for line in raw.splitlines() if line.strip()]
        return _as_transaction([_parse(path, line) for line in lines])
    data = _parse(path, raw)
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        if data.get("type") in ("transaction", "batch"):
            return data
        return _as_transaction([e.get("resource") for e in data.get("entry") or []])
    if isinstance(data, dict) and data.get("resourceType"):
        return _as_transaction([data])
    raise BadRequest(f"{path}: expected a FHIR Bundle, a resource or NDJSON.")


def _as_transaction(resources_: list) -> dict:
    entries = []
    for r in resources_:
        if not isinstance(r, dict) or "resourceType" not in r:
            raise BadRequest("Every line or entry must be a FHIR resource.")
        if r.get("id"):
            request = {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
        else:
            request = {"method": "POST", "url": r["resourceType"]}
        entries.append({"resource": r, "request": request})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def in_transaction(settings: Settings, engine, work):
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        from .routes import dispatch

        repo = Repository(conn, Access.open())
        repo.base_url = settings.base_url.rstrip("/")  # what notifications name resources by
        return work(Context(repo, settings, repo.base_url, dispatch))


def apply_bundle(settings: Settings, engine, bundle: dict) -> dict:
    def work(ctx):
        req = FhirRequest("POST", "", [], {"prefer": "return=minimal"}, bundle, b"", ctx.base_url)
        return orjson.loads(process(ctx, req).body)
    return in_transaction(settings, engine, work)


def _summary(response: dict) -> str:
    statuses: dict[str, int] = {}
    for entry in response.get("entry", []):
        code = entry.get("response", {}).get("status", "?").split(" ")[0]
        statuses[code] = statuses.get(code, 0) + 1
    names = {"200": "unchanged or updated", "201": "created", "204": "deleted"}
    return ", ".join(f"{n} {names.get(code, code)}" for code, n in sorted(statuses.items())) or "nothing"


def load_files(settings: Settings, paths: list[Path]):
    engine = make_engine(settings.database_url)
    try:
        for path in paths:
            yield path, _summary(apply_bundle(settings, engine, read_bundle(path)))
    finally:
        engine.dispose()


def import_network_files(settings: Settings, paths: list[Path]):
    """Each network document in its own transaction; yields (path, {change: [references]})."""
    from .interactions.network import import_network

    engine = make_engine(settings.database_url)
    try:
        for path in paths:
            document = _parse(path, path.read_bytes())
            yield path, in_transaction(settings, engine, lambda ctx: import_network(ctx, document))
    finally:
        engine.dispose()


def load_demo_if_empty(settings: Settings, directory: Path) -> str:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(resources)).scalar_one():
                return "database not empty; nothing loaded"
    finally:
        engine.dispose()
    files = sorted(directory.glob("*.json"))
    for _ in import_network_files(settings, files):
        pass
    return f"loaded {len(files)} demo networks from {directory}"
