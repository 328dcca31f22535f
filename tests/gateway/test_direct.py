"""Statements sent straight to the driver (gateway.storage.direct) give what Connection.execute gives,
on SQLite and PostgreSQL, in the connection's transaction, and step aside for statement listeners."""
from datetime import datetime

import pytest
from sqlalchemy import bindparam, event, exc, insert, select, update

from gateway.storage.db import make_engine
from gateway.storage.direct import Direct
from gateway.storage.tables import audit_log, resources

WHEN = datetime(2026, 12, 1, 17, 30, 5, 123000)
CURRENT = select(resources).where(resources.c.res_type == bindparam("k_type"), resources.c.res_id == bindparam("k_id"))
ONE_TYPE = select(resources.c.res_id, resources.c.deleted).where(resources.c.res_type == "CarePlan").order_by(
    resources.c.res_id)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        for i, deleted in enumerate((False, True)):
            conn.execute(insert(resources).values(res_type="CarePlan", res_id=f"p{i}", version=i + 1,
                                                  last_updated=WHEN, deleted=deleted, body=b'{"x": 1}'))
    yield engine
    engine.dispose()


def test_rows_are_those_connection_execute_gives_with_their_types(engine):
    with engine.connect() as conn:
        for k_id in ("p0", "p1", "nothing"):
            params = {"k_type": "CarePlan", "k_id": k_id}
            expected = conn.execute(CURRENT, params).first()
            got = Direct(CURRENT).first(conn, params)
            assert (got is None) == (expected is None)
            if got is not None:
                assert tuple(got) == tuple(expected)
                assert got.last_updated == WHEN and got.deleted is expected.deleted and got.body == b'{"x": 1}'
        # Values built into the statement (not given at execution) go in too.
        assert [tuple(r) for r in Direct(ONE_TYPE).all(conn, {})] == [("p0", False), ("p1", True)]


def test_it_runs_in_the_connections_transaction_begun_as_execute_would(engine):
    with engine.connect() as conn:
        assert not conn.in_transaction()
        Direct(CURRENT).first(conn, {"k_type": "CarePlan", "k_id": "p0"})
        assert conn.in_transaction()
    append = Direct(insert(audit_log), ["recorded", "body"])
    with engine.connect().execution_options(write=True) as conn:
        append.execute_many(conn, [{"recorded": WHEN, "body": b"a"}, {"recorded": WHEN, "body": b"b"}])
        conn.rollback()  # nothing of a rolled-back transaction stays
        with conn.begin():
            append.execute_many(conn, [{"recorded": WHEN, "body": b"c"}])
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.recorded, audit_log.c.body)).all()
    assert [tuple(r) for r in rows] == [(WHEN, b"c")]  # stored as SQLAlchemy stores it


def test_writes_give_their_returning_rows_and_row_counts_and_are_stored_as_execute_stores_them(engine):
    columns = ["res_type", "res_id", "version", "last_updated", "deleted", "body"]
    create = Direct(insert(resources).returning(resources.c.rid), columns)
    bump = Direct(update(resources).where(resources.c.res_id == bindparam("k_id"),
                                          resources.c.version == bindparam("k_version")), ["version"])
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        new = create.first(conn, {"res_type": "Goal", "res_id": "g1", "version": 1, "last_updated": WHEN,
                                  "deleted": False, "body": b"{}"})
        assert isinstance(new.rid, int) and new.rid == new[0]
        assert bump.execute(conn, {"k_id": "g1", "k_version": 1, "version": 2}) == 1
        assert bump.execute(conn, {"k_id": "g1", "k_version": 1, "version": 3}) == 0  # a lost race matches none
    with engine.connect() as conn:
        stored = conn.execute(CURRENT, {"k_type": "Goal", "k_id": "g1"}).one()
    assert (stored.rid, stored.version, stored.last_updated, stored.deleted) == (new.rid, 2, WHEN, False)


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(engine):
    create = Direct(insert(resources), ["res_type", "res_id", "version", "last_updated", "deleted"])
    taken = {"res_type": "CarePlan", "res_id": "p0", "version": 1, "last_updated": WHEN, "deleted": False}
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        with pytest.raises(exc.IntegrityError):  # (res_type, res_id) is unique: a conflict, not a 500
            create.execute(conn, taken)


def test_a_statement_listener_sees_it_through_connection_execute(engine):
    seen = []
    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", lambda *a: seen.append(a[2]))
        row = Direct(CURRENT).first(conn, {"k_type": "CarePlan", "k_id": "p0"})
    assert row.res_id == "p0" and len(seen) == 1 and "FROM resources" in seen[0]


def test_a_blind_write_passes_statement_listeners_but_not_recorders_of_driver_sql(engine):
    append = {blind: Direct(insert(audit_log), ["recorded", "body"], blind=blind) for blind in (False, True)}
    statements, driver_sql = [], []
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        event.listen(conn, "before_execute", lambda c, statement, *a: statements.append(statement))
        for blind, direct in append.items():
            direct.execute_many(conn, [{"recorded": WHEN, "body": b"%d" % blind}])
        assert statements == [append[False].stmt]  # what holds rows back hears of the others only
        event.listen(conn, "before_cursor_execute", lambda *a: driver_sql.append(a[2]))
        append[True].execute_many(conn, [{"recorded": WHEN, "body": b"2"}])
        assert len(driver_sql) == 1 and "INSERT INTO audit_log" in driver_sql[0]
    with engine.connect() as conn:
        assert sorted(conn.execute(select(audit_log.c.body)).scalars()) == [b"0", b"1", b"2"]


def test_an_in_list_expanded_at_execution_goes_through_connection_execute(engine):
    expanding = select(resources.c.res_id).where(resources.c.res_id.in_(bindparam("ids", expanding=True)))
    with engine.connect() as conn:
        assert [r.res_id for r in Direct(expanding).all(conn, {"ids": ["p1", "zz"]})] == ["p1"]


def test_an_in_list_built_into_the_statement_goes_direct_with_its_values(engine):
    # A carer's access clause holds IN lists of constant values (ids, codes).
    built_in = select(resources.c.res_id).where(resources.c.res_type == bindparam("k_type"),
                                                resources.c.res_id.in_(["p1", "zz"]),
                                                resources.c.deleted.in_([True]))
    direct = Direct(built_in)
    with engine.connect() as conn:
        assert [r.res_id for r in direct.all(conn, {"k_type": "CarePlan"})] == ["p1"]
        assert direct.all(conn, {"k_type": "Patient"}) == []
        assert direct._by_dialect[conn.dialect.name] is not None  # compiled for the driver, not passed on


def test_a_statement_made_per_carer_is_compiled_for_the_driver_from_its_second_use(engine):
    direct = Direct(CURRENT, compile_after=1)
    params = {"k_type": "CarePlan", "k_id": "p0"}
    with engine.connect() as conn:
        assert direct.first(conn, params).res_id == "p0" and direct._by_dialect == {}
        assert direct.first(conn, params).res_id == "p0" and direct._by_dialect[conn.dialect.name] is not None
