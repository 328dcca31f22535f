"""Search tests run against the real schema on SQLite and, when
SAMENZORG_TEST_DATABASE_URL is set, PostgreSQL too.

On PostgreSQL the tables live in their own schema (`search_tests`), so these
tests never touch the tables the rest of the suite migrates in `public`.
Resources are written the way the repository writes them: the `resources`
row with the JSON bytes, plus whatever `index_rows` returns.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from sqlalchemy import delete, insert, select, text, update

from gateway.search import index_rows, match, search_bundle
from gateway.storage.db import make_engine
from gateway.storage.tables import INDEX_TABLES, metadata, resources

PG_URL = os.environ.get("SAMENZORG_TEST_DATABASE_URL")
BASE = "http://test/fhir"
KEY = b"paging-key-for-tests"
PG_SCHEMA = "search_tests"

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def _pg_engine():
    if not PG_URL:
        yield None
        return
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={PG_SCHEMA}"})
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        metadata.create_all(conn)
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, _pg_engine):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'search.db'}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with _pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield _pg_engine


class Store:
    """Writes resources as the repository does, and searches them."""

    def __init__(self, engine):
        self.engine = engine
        self.clock = datetime(2026, 1, 1, 12, 0, 0)

    def put(self, resource: dict, *, when: datetime | None = None) -> dict:
        rtype, rid_ = resource["resourceType"], resource["id"]
        self.clock = when or self.clock + timedelta(seconds=1)
        resource = {**resource, "meta": {**resource.get("meta", {}), "versionId": "1",
                                         "lastUpdated": self.clock.isoformat() + "Z"}}
        with self.engine.begin() as conn:
            row = conn.execute(select(resources.c.rid, resources.c.version).where(
                resources.c.res_type == rtype, resources.c.res_id == rid_)).first()
            values = dict(version=1 if row is None else row.version + 1, last_updated=self.clock,
                          deleted=False, body=orjson.dumps(resource))
            if row is None:
                rid = conn.execute(insert(resources).values(res_type=rtype, res_id=rid_, **values)
                                   .returning(resources.c.rid)).scalar_one()
            else:
                rid = row.rid
                conn.execute(update(resources).where(resources.c.rid == rid).values(**values))
            self._reindex(conn, rid, rtype, resource)
        return resource

    def delete(self, rtype: str, rid_: str) -> None:
        with self.engine.begin() as conn:
            rid = conn.execute(select(resources.c.rid).where(
                resources.c.res_type == rtype, resources.c.res_id == rid_)).scalar_one()
            conn.execute(update(resources).where(resources.c.rid == rid).values(deleted=True, body=None))
            self._reindex(conn, rid, rtype, None)

    def _reindex(self, conn, rid, rtype, resource):
        for table in INDEX_TABLES.values():
            conn.execute(delete(table).where(table.c.rid == rid))
        if resource is None:
            return
        for kind, rows in index_rows(resource).items():
            if rows:
                conn.execute(insert(INDEX_TABLES[kind]), [{**r, "rid": rid, "res_type": rtype} for r in rows])

    def search(self, rtype: str | None, query: str | list = "", *, strict: bool = True,
               restrict=None, key: bytes = KEY) -> dict:
        params = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
        with self.engine.connect() as conn:
            body = search_bundle(conn, res_type=rtype, params=params, base_url=BASE, strict=strict,
                                 page_key=key, restrict=restrict)
        return orjson.loads(body)

    def follow(self, bundle: dict, relation: str = "next", **kw) -> dict | None:
        url = next((l["url"] for l in bundle["link"] if l["relation"] == relation), None)
        if url is None:
            return None
        parts = urlsplit(url)
        path = parts.path.removeprefix("/fhir").strip("/")
        return self.search(path or None, parse_qsl(parts.query), **kw)

    def ids(self, rtype: str | None, query: str | list = "", **kw) -> list[str]:
        return ids(self.search(rtype, query, **kw))

    def match(self, rtype, query: str, restrict=None, limit=2):
        with self.engine.connect() as conn:
            return match(conn, rtype, parse_qsl(query, keep_blank_values=True), restrict=restrict,
                         limit=limit)


    @staticmethod
    def entries(bundle: dict, mode: str = "match") -> list[str]:
        """Ids of the entries in one search mode, in bundle order."""
        return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]

    @staticmethod
    def typed(bundle: dict, mode: str = "include") -> list[str]:
        """Sorted Type/id of the entries in one search mode."""
        return sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}"
                      for e in bundle.get("entry", []) if e["search"]["mode"] == mode)


def ids(bundle: dict) -> list[str]:
    return Store.entries(bundle)


@pytest.fixture
def store(engine) -> Store:
    return Store(engine)
