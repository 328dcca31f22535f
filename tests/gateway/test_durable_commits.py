"""SQLite commits are on disk before they return (gateway/storage/durable.py): the write-ahead log is
synced after COMMIT gives the write lock back, one fsync for the commits waiting meanwhile.

A power loss cannot be caused here; what can be checked for real is the order: every commit that
returned (and every answer that left) was in the database when an fsync of its WAL file began, and
that fsync had completed. The spy only watches os.fsync and passes every call on."""
import os
import sqlite3
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from sqlalchemy import exc, func, insert, select, text

from gateway.storage.db import make_engine
from gateway.storage.durable import Checkpoints
from gateway.storage.tables import server_state

pytestmark = pytest.mark.skipif(bool(os.environ.get("SAMENZORG_TEST_DATABASE_URL")),
                                reason="SQLite's own durability; PostgreSQL syncs inside COMMIT")


class FsyncSpy:
    """Records, for each fsync of a WAL file, which server_state keys were committed when it began."""

    def __init__(self, monkeypatch, database: str, pause: float = 0.0, fail: bool = False):
        self.database, self.pause, self.fail = database, pause, fail
        self.wal_syncs: list[set[str]] = []  # completed, in order
        self.directories = 0
        self._real = os.fsync
        self._lock = threading.Lock()
        monkeypatch.setattr(os, "fsync", self)

    def __call__(self, fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            self.directories += 1
            return self._real(fd)
        with closing(sqlite3.connect(self.database)) as reader:  # what is committed now, WAL included
            present = {k for (k,) in reader.execute("SELECT key FROM server_state")}
        time.sleep(self.pause)
        if self.fail:
            raise OSError(5, "Input/output error")
        self._real(fd)
        with self._lock:
            self.wal_syncs.append(present)

    def durable(self) -> set[str]:
        with self._lock:
            return set().union(*self.wal_syncs)


def _database(url: str) -> str:
    return url.removeprefix("sqlite:///")


def _write(engine, key: str) -> None:
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        conn.execute(insert(server_state).values(key=key, value="x"))


def test_every_commit_returns_after_an_fsync_that_began_after_it_and_fsyncs_are_shared(database_url, monkeypatch):
    engine = make_engine(database_url)
    spy = FsyncSpy(monkeypatch, _database(database_url), pause=0.002)
    early: list[str] = []

    def write(key: str) -> None:
        _write(engine, key)
        if key not in spy.durable():
            early.append(key)

    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(write, [f"k{i}" for i in range(90)]))
    finally:
        engine.dispose()
    assert early == [], f"commits returned before an fsync covered them: {early}"
    assert spy.durable() >= {f"k{i}" for i in range(90)}
    # Six writers, an fsync of 2 ms: commits that returned while one ran share the next one.
    assert 1 <= len(spy.wal_syncs) < 90


def test_a_read_transaction_syncs_nothing_and_a_new_wal_file_syncs_its_directory(database_url, monkeypatch):
    engine = make_engine(database_url)
    spy = FsyncSpy(monkeypatch, _database(database_url))
    try:
        _write(engine, "first")
        assert len(spy.wal_syncs) == 1 and spy.directories == 1  # this engine's first WAL file
        _write(engine, "second")
        assert len(spy.wal_syncs) == 2 and spy.directories == 1
        with engine.connect() as conn, conn.begin():
            assert conn.execute(select(server_state.c.key).where(server_state.c.key == "first")).scalar() == "first"
        assert len(spy.wal_syncs) == 2
    finally:
        engine.dispose()


def test_a_failed_fsync_fails_that_commit_and_every_later_one(database_url, monkeypatch):
    engine = make_engine(database_url)
    spy = FsyncSpy(monkeypatch, _database(database_url), fail=True)
    try:
        with pytest.raises(exc.OperationalError, match="could not be synced"):
            _write(engine, "lost")
        spy.fail = False  # a later fsync that succeeds proves nothing about the pages the failed one dropped
        with pytest.raises(exc.OperationalError, match="no longer confirmed"):
            _write(engine, "after")
        assert spy.wal_syncs == []
    finally:
        engine.dispose()


def test_a_created_resource_is_durable_before_the_answer_leaves(api, database_url, monkeypatch):
    spy = FsyncSpy(monkeypatch, _database(database_url))
    seen: list[set[str]] = []

    def resources_at_fsync(fd, record=spy.__call__):
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            with closing(sqlite3.connect(_database(database_url))) as reader:
                seen.append({rid for (rid,) in reader.execute("SELECT res_id FROM resources")})
        record(fd)

    monkeypatch.setattr(os, "fsync", resources_at_fsync)
    created = api.create({"resourceType": "Patient", "name": [{"family": "Jansen"}]})
    assert any(created["id"] in ids for ids in seen)


def test_sqlite_commits_without_syncing_inside_commit_only_where_the_wal_is_synced_after(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
            assert conn.connection.dbapi_connection.wal_sync is not None
    finally:
        engine.dispose()
    memory = make_engine("sqlite://")
    try:
        with memory.connect() as conn:  # no WAL file to sync: SQLite keeps syncing inside COMMIT
            assert conn.connection.dbapi_connection.wal_sync is None
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        memory.dispose()


# WAL checkpoints (durable.Checkpoints): beside the writers, never inside their COMMIT.

def _fill(engine, commits: int, rows: int, tag: str) -> None:
    for c in range(commits):
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            conn.execute(insert(server_state), [{"key": f"{tag}{c}-{r}", "value": "v" * 200} for r in range(rows)])


def _checkpoints(engine) -> Checkpoints:
    conn = engine.raw_connection()
    try:
        return conn.driver_connection.checkpoints
    finally:
        conn.close()


def _settled(checkpoints: Checkpoints) -> None:
    deadline = time.monotonic() + 10
    while checkpoints._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not checkpoints._running


def test_no_commit_checkpoints_the_wal_itself(database_url, monkeypatch):
    monkeypatch.setattr(Checkpoints, "EVERY", 10**9)
    engine = make_engine(database_url)
    try:
        _fill(engine, 150, 100, "k")
        with closing(sqlite3.connect(_database(database_url))) as conn:  # not the last to close
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        engine.dispose()
    # SQLite's own would have run inside the COMMIT past 1,000 pages and begun the WAL again.
    assert busy == 0 and frames > 1500 and copied == frames


def test_the_wal_is_checkpointed_beside_the_writers_and_stays_small(database_url, monkeypatch):
    monkeypatch.setattr(Checkpoints, "EVERY", 500)
    engine = make_engine(database_url)
    try:
        checkpoints = _checkpoints(engine)
        for part in range(30):
            _fill(engine, 5, 100, f"p{part}-")
            _settled(checkpoints)
        wal = os.path.getsize(_database(database_url) + "-wal")
    finally:
        engine.dispose()
    # Unchecked, these commits wrote 1,500+ pages (6 MB and more) of WAL; begun again after each
    # checkpoint, it holds little more than the commits since the last one.
    assert 0 < wal < 2 * 1024 * 1024


def test_writers_go_on_while_a_checkpoint_runs(database_url, monkeypatch):
    monkeypatch.setattr(Checkpoints, "EVERY", 100)
    release, began, started = threading.Event(), threading.Event(), []
    checkpoint = Checkpoints._checkpoint

    def slow_disk(self):  # a checkpoint on a slow disk: hard to cause for real
        started.append(threading.current_thread().name)
        began.set()
        release.wait(10)
        checkpoint(self)

    monkeypatch.setattr(Checkpoints, "_checkpoint", slow_disk)
    engine = make_engine(database_url)
    try:
        _fill(engine, 1, 100, "first")
        assert began.wait(10) and started == ["samenzorg-wal-checkpoint"]
        writer = threading.Thread(target=_fill, args=(engine, 10, 100, "meanwhile"))
        writer.start()
        writer.join(10)
        assert not writer.is_alive(), "a writer waited for the checkpoint"
        assert len(started) == 1  # one at a time: the commits past the mark meanwhile start none
        release.set()
        _settled(_checkpoints(engine))
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(server_state)).scalar() >= 1100
    finally:
        release.set()
        engine.dispose()
