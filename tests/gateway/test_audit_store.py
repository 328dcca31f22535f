"""The audit store appends a compact record per disclosure and settles it into an AuditEvent later,
writing its rows without extracting them: they must be the rows the generic extraction would have
written, the settled record a whole AuditEvent, and each appended record exactly one of them."""
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from gateway import audit, audit_store, fhirtime
from gateway.consent_sql import fact_rows
from gateway.repository import Repository
from gateway.search import index_rows
from gateway.storage.db import make_engine
from gateway.storage.tables import INDEX_TABLES, audit_log, history_compartment, resource_history, resources

_IDS = st.from_regex(r"[A-Za-z0-9\-.]{1,8}", fullmatch=True)
_TYPES = st.sampled_from(["Patient", "CarePlan", "Communication", "Consent", "RelatedPerson", "Goal", "Practitioner"])
_REFS = st.one_of(st.builds(lambda t, i: f"{t}/{i}", _TYPES, _IDS),
                  st.builds(lambda t, i: f"{t}/{i}/_history/2", _TYPES, _IDS),
                  st.sampled_from(["https://elders.example/fhir/Patient/9", "urn:uuid:0d9a", "#contained"]))
_USERS = st.one_of(st.builds(lambda t, i: f"{t}/{i}",
                             st.sampled_from(["RelatedPerson", "Practitioner", "Patient", "PractitionerRole"]), _IDS))


def _canon(rows: dict) -> dict:
    return {kind: Counter(tuple(sorted(r.items())) for r in part) for kind, part in rows.items() if part}


def _generic(event: dict) -> dict:
    rows, facts = index_rows(event), fact_rows(event)
    return _canon({kind: rows.get(kind, []) + facts.get(kind, []) for kind in rows})


_DISCLOSURES = st.builds(
    audit.Disclosure,
    st.sampled_from(["read", "vread", "search-type", "history-type", "create", "update", "delete", "operation"]),
    st.sampled_from([audit.SUCCESS, audit.REFUSED]),
    st.lists(st.builds(lambda i: f"Patient/{i}", _IDS), max_size=2),
    st.lists(_REFS, max_size=4),
    st.lists(st.builds(lambda i: f"Consent/{i}", _IDS), max_size=2),
    st.one_of(st.none(), st.just("subject=Patient/1&_count=20")),
    st.one_of(st.none(), st.just("not found, or not permitted for this caller")),
)


@settings(max_examples=300, deadline=None)
@given(_USERS, st.one_of(st.none(), st.just("familieportaal")), _DISCLOSURES)
def test_the_rows_of_an_audit_record_are_those_the_generic_extraction_finds(user, client_id, d):
    event = {"id": "a", **audit.audit_event(user, client_id, d)}
    assert _canon(audit_store.index_rows_of(event)) == _generic(event)


def test_a_settled_audit_record_is_a_whole_versioned_resource_with_its_rows(database_url):
    engine = make_engine(database_url)
    try:
        disclosures = [audit.Disclosure("read", patients=["Patient/p1"], resources=["CarePlan/c1"],
                                        consents=["Consent/k1"]),
                       audit.Disclosure("search-type", patients=["Patient/p1"],
                                        resources=["Communication/m1", "Communication/m2"], query="subject=Patient/p1")]
        with engine.connect() as conn, conn.begin():
            audit_store.append(conn, "RelatedPerson/rp1", "familieportaal", disclosures)
        with engine.connect() as conn:  # appended: one compact row each, no resource yet
            assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 2
            assert conn.execute(select(resources).where(resources.c.res_type == "AuditEvent")).first() is None
        assert audit_store.settle_all(engine) == 2
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
            stored = conn.execute(select(resources).where(resources.c.res_type == "AuditEvent")
                                  .order_by(resources.c.rid)).all()
            assert len(stored) == 2
            for row, d in zip(stored, disclosures):
                body = orjson.loads(row.body)
                expected = audit.audit_event("RelatedPerson/rp1", "familieportaal", d, recorded=body["recorded"])
                assert body["meta"] == {"versionId": "1", "lastUpdated": body["recorded"]}
                assert fhirtime.instant(row.last_updated) == body["recorded"]  # when it was recorded, not settled
                assert {k: v for k, v in body.items() if k not in ("id", "meta")} == expected
                history = conn.execute(select(resource_history).where(resource_history.c.res_id == row.res_id)).one()
                assert (history.version, history.method, history.body) == (1, "POST", row.body)
                assert conn.execute(select(history_compartment.c.patient_id)
                                    .where(history_compartment.c.seq == history.seq)).scalars().all() == ["p1"]
                written = {kind: [{k: v for k, v in r._mapping.items() if k not in ("rid", "res_type")}
                                  for r in conn.execute(select(t).where(t.c.rid == row.rid))]
                           for kind, t in INDEX_TABLES.items()}
                assert _canon(written) == _generic(body)
        # What the repository's own write path stores for the same event gives the same rows.
        with engine.connect() as conn, conn.begin():
            Repository(conn)._write("AuditEvent", "generic", {k: v for k, v in body.items() if k != "meta"},
                                    "POST", None)
        with engine.connect() as conn:
            rid = conn.execute(select(resources.c.rid).where(resources.c.res_id == "generic")).scalar_one()
            generic = {kind: [{k: v for k, v in r._mapping.items() if k not in ("rid", "res_type")}
                              for r in conn.execute(select(t).where(t.c.rid == rid))]
                       for kind, t in INDEX_TABLES.items()}
            assert _canon(generic) == _canon(written)
    finally:
        engine.dispose()


def test_concurrent_settlers_turn_each_appended_record_into_exactly_one_audit_event(database_url):
    engine = make_engine(database_url, **({} if database_url.startswith("sqlite") else {"pool_size": 8}))
    try:
        d = audit.Disclosure("read", patients=["Patient/p1"], resources=["CarePlan/c1"])
        for _ in range(6):
            with engine.connect().execution_options(write=True) as conn, conn.begin():
                audit_store.append(conn, "RelatedPerson/rp1", None, [d] * 50)
        with ThreadPoolExecutor(4) as pool:
            settled = list(pool.map(lambda _: audit_store.settle_all(engine, batch=40), range(4)))
        assert sum(settled) == 300
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
            ids = conn.execute(select(resources.c.res_id).where(resources.c.res_type == "AuditEvent")).scalars().all()
            assert len(ids) == len(set(ids)) == 300
        assert audit_store.settle_all(engine) == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("method, path, query, body, expected", [
    ("GET", "AuditEvent", [], None, True),
    ("GET", "AuditEvent/a1/_history/1", [], None, True),
    ("GET", "Patient/p1/$everything", [], None, True),
    ("POST", "Consent/$evaluate", [], {}, True),
    ("GET", "_history", [], None, True),
    ("GET", "", [("_type", "AuditEvent")], None, True),
    ("GET", "Patient", [("_revinclude", "AuditEvent:patient")], None, True),
    ("GET", "Patient", [("_has:AuditEvent:patient:outcome", "4")], None, True),
    ("GET", "Patient", [("_id", "p1"), ("_revinclude", "*")], None, True),
    ("GET", "Patient", [("_id", "p1"), ("_revinclude:iterate", "*")], None, True),
    ("POST", "", [], {"resourceType": "Bundle", "type": "batch",
                      "entry": [{"request": {"method": "GET", "url": "AuditEvent?patient=Patient/p1"}}]}, True),
    ("GET", "CarePlan/c1", [], None, False),
    ("GET", "Communication", [("subject", "Patient/p1"), ("_count", "20")], None, False),
    ("POST", "Communication", [], {"resourceType": "Communication"}, False),
    ("POST", "", [], {"resourceType": "Bundle", "type": "transaction",
                      "entry": [{"request": {"method": "POST", "url": "Patient"}}]}, False),
    ("POST", "", [], {"resourceType": "Bundle", "type": "batch",
                      "entry": [{"request": {"method": "GET", "url": "Patient/p1/$everything"}}]}, True),
    ("POST", "", [], {"resourceType": "Bundle", "type": "batch",
                      "entry": [{"request": {"method": "GET", "url": "Audit%45vent?patient=p1"}}]}, True),
])
def test_requests_that_may_read_audit_events_settle_the_log_first(method, path, query, body, expected):
    assert audit_store.may_read(method, path, query, body) is expected


def test_a_reader_that_settles_while_another_settler_works_finds_the_log_empty_after(database_url):
    """A reader that finds another settler at work waits for it, then settles the rest: when it
    returns, every record appended before it began is an AuditEvent (what its read relies on)."""
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            audit_store.append(conn, "RelatedPerson/rp1", None, [audit.Disclosure("read", patients=["Patient/p1"])] * 50)
        other = engine.connect().execution_options(write=True)
        other.begin()
        assert audit_store.settle(other, 10) == 10  # holds the 10 oldest rows (their locks, or the write lock)
        with ThreadPoolExecutor(1) as pool:
            reader = pool.submit(audit_store.settle_all, engine, batch=20)
            try:
                reader.result(timeout=1)
            except TimeoutError:
                pass  # waiting for the other settler, as it should
            other.commit()
            other.close()
            assert reader.result(timeout=30) == 40
        assert not audit_store.pending(engine)
    finally:
        engine.dispose()


def test_asking_whether_the_log_needs_settling_keeps_the_statements_postgresql_has_prepared(app, client):
    """Every `$everything` first asks whether the audit log needs settling. Asked inside a transaction,
    that connection was rolled back when closed, and psycopg then drops every statement prepared on
    it: each `$everything` planned its two 14 KB statements again (4-8 ms each at 10,000 clients)."""
    from sqlalchemy import event

    engine = app.extensions["samenzorg.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("statements prepared by psycopg: PostgreSQL only")
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"},
                      headers={"Content-Type": "application/fhir+json"}).status_code == 201
    used = {}
    event.listen(engine, "checkout", lambda dbapi_conn, record, proxy: used.setdefault(id(dbapi_conn), dbapi_conn))
    for _ in range(10):  # psycopg prepares a statement on its sixth execution on a connection
        assert client.get("/fhir/Patient/p1/$everything").status_code == 200
    prepared = 0
    for dbapi_conn in used.values():
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT count(*)%'")
            prepared += cur.fetchone()[0]
    assert prepared >= 1
