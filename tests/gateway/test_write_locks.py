"""PostgreSQL row locks of a PUT: only a real change waits for the row's other writers.

An import names the same shared Organizations in every network; when the PUT that leaves one as
it is locked the row, parallel imports queued behind each other's whole transactions (the import
bench spent most of its time waiting on row locks)."""
import threading
import time

import pytest
from sqlalchemy import select, text

from gateway.repository import Repository
from gateway.storage.tables import resources


def _engine(app):
    engine = app.extensions["samenzorg.engine"]
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no row locks: one writer at a time")
    return engine


def _in_thread(call):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("response", call()), daemon=True)
    thread.start()
    return thread, out


def _wait_for_a_lock_wait(engine, timeout=10.0):
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar()
            conn.rollback()  # pg_stat_activity is read once per transaction
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the PUT never waited for the row lock")


def test_a_put_that_changes_nothing_does_not_wait_for_the_rows_lock(app, api, patient):
    engine = _engine(app)
    stored = api.create(patient())
    with engine.connect() as holder, holder.begin():
        holder.execute(select(resources.c.rid).where(resources.c.res_id == stored["id"]).with_for_update())
        thread, out = _in_thread(lambda: api.put(f"Patient/{stored['id']}", stored))
        thread.join(10)
        assert not thread.is_alive(), "the unchanged PUT waited for another transaction's row lock"
    assert out["response"].status_code == 200
    assert out["response"].headers["ETag"] == 'W/"1"'


def _changed_by_another_writer(engine, stored, gender, request):
    """`request` runs while another transaction has changed the resource, uncommitted."""
    with engine.connect() as writer:
        writer.begin()
        Repository(writer).update("Patient", stored["id"], {**stored, "gender": gender})
        thread, out = _in_thread(request)
        _wait_for_a_lock_wait(engine)
        writer.commit()
    thread.join(10)
    assert not thread.is_alive()
    return out["response"]


def test_a_change_decided_on_a_version_another_writer_replaced_is_decided_again(app, api, patient):
    engine = _engine(app)
    stored = api.create(patient())
    resp = _changed_by_another_writer(engine, stored, "other", lambda: api.put(
        f"Patient/{stored['id']}", {**stored, "birthDate": "1940-01-01"}, **{"If-Match": 'W/"1"'}))
    assert resp.status_code == 412, resp.get_json()
    assert "version 2" in resp.get_json()["issue"][0]["diagnostics"]
    resp = _changed_by_another_writer(engine, stored, "male", lambda: api.put(
        f"Patient/{stored['id']}", {**stored, "birthDate": "1940-01-01"}))
    assert resp.status_code == 200, resp.get_json()
    now = api.get(f"Patient/{stored['id']}").get_json()
    assert now["meta"]["versionId"] == "4" and now["birthDate"] == "1940-01-01" and now["gender"] == "female"
