"""Concurrent reads' audit records share one commit, and no read returns before its own is committed."""
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import func, insert, select

from gateway.storage.db import connect
from gateway.audit_commit import AuditNotRecorded, GroupCommit
from gateway.storage.db import make_engine
from gateway.storage.tables import audit_log


class Request:
    """Stands in for a request's repository: records in which transaction its audit records went."""

    def __init__(self, name, written, gate=None, entered=None, fail=False):
        self.name, self.written, self.gate, self.entered, self.fail = name, written, gate, entered, fail

    def flush_audits(self, into):
        if self.entered:
            self.entered.set()
        if self.gate:
            assert self.gate.wait(30)
        if self.fail:
            raise RuntimeError("audit store unavailable")
        self.written.append((self.name, id(into.get_transaction())))


def _until(condition, deadline=30.0):
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _run(engine, group, request, results):
    with engine.connect() as conn:
        try:
            group.commit(conn, request)
            results[request.name] = "committed"
        except Exception as exc:  # what the request would answer with: an error, never the data
            results[request.name] = type(exc).__name__


def _leader_and_two_waiting(engine, group, leader, others, results):
    threads = [threading.Thread(target=_run, args=(engine, group, leader, results))]
    threads[0].start()
    assert leader.entered.wait(30)
    for other in others:
        threads.append(threading.Thread(target=_run, args=(engine, group, other, results)))
        threads[-1].start()
    _until(lambda: len(group._queue) == len(others))  # both handed over while the leader writes
    assert results == {}  # nobody has returned yet
    leader.gate.set()
    for t in threads:
        t.join(30)


def test_records_handed_over_while_another_commit_runs_are_committed_together_in_the_next_one(engine):
    group, written, results = GroupCommit(), [], {}
    leader = Request("a", written, gate=threading.Event(), entered=threading.Event())
    _leader_and_two_waiting(engine, group, leader, [Request("b", written), Request("c", written)], results)
    assert results == {"a": "committed", "b": "committed", "c": "committed"}
    assert written[0][0] == "a" and {n for n, _ in written[1:]} == {"b", "c"}
    assert written[1][1] == written[2][1]  # b and c: one transaction


def test_when_a_shared_commit_fails_every_request_in_it_fails_and_none_discloses(engine):
    group, written, results = GroupCommit(), [], {}
    leader = Request("a", written, gate=threading.Event(), entered=threading.Event())
    _leader_and_two_waiting(engine, group, leader, [Request("b", written, fail=True), Request("c", written)],
                            results)
    # Whichever of b and c leads their shared commit sees the failure itself; the other is told so.
    assert results["a"] == "committed"
    assert {results["b"], results["c"]} == {"RuntimeError", AuditNotRecorded.__name__}


class HalfWritten:
    """Appends one real audit row, then fails: the batch must leave nothing behind."""

    def flush_audits(self, into):
        into.execute(insert(audit_log).values(recorded=datetime(2026, 12, 1), body=b"{}"))
        raise RuntimeError("the second record could not be stored")


def test_a_batch_committed_from_a_reads_connection_is_one_transaction(engine):
    # A read's connection may run without a transaction (PostgreSQL, storage.db.connect); the records it
    # commits for a batch still go in all together or not at all.
    with connect(engine, write=False) as conn:
        with pytest.raises(RuntimeError):
            GroupCommit().commit(conn, HalfWritten())
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar_one() == 0
