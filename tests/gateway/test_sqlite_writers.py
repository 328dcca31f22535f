"""Writers share SQLite's one write lock (BEGIN IMMEDIATE, gateway/storage/db.py): every write
succeeds under contention, and a failed or abandoned write transaction gives the lock back."""
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, insert, select

from gateway.storage.db import make_engine
from gateway.storage.tables import server_state


def _write(engine, key: str, fail: bool = False) -> None:
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        conn.execute(insert(server_state).values(key=key, value="x"))
        if fail:
            raise RuntimeError("the write fails after taking the lock")


def test_concurrent_writers_all_succeed(database_url):
    engine = make_engine(database_url, **({} if database_url.startswith("sqlite") else {"pool_size": 16}))
    try:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: _write(engine, f"k{i}"), range(320)))
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(server_state)
                                .where(server_state.c.key.like("k%"))).scalar_one() == 320
    finally:
        engine.dispose()


def test_a_failed_or_abandoned_write_gives_the_lock_back_to_other_threads(database_url):
    engine = make_engine(database_url)
    try:
        try:
            _write(engine, "failed", fail=True)
        except RuntimeError:
            pass
        conn = engine.connect().execution_options(write=True)
        conn.begin()
        conn.execute(insert(server_state).values(key="abandoned", value="x"))
        conn.close()  # back to the pool mid-transaction: rolled back, and the lock released
        done = threading.Event()
        other = threading.Thread(target=lambda: (_write(engine, "after"), done.set()))
        other.start()
        other.join(timeout=20)
        assert done.is_set(), "another thread could not write after a failed and an abandoned write"
        with engine.connect() as conn:
            assert set(conn.execute(select(server_state.c.key)).scalars()) >= {"after"}
            assert not {"failed", "abandoned"} & set(conn.execute(select(server_state.c.key)).scalars())
    finally:
        engine.dispose()


def _lock_is_free(path: str) -> bool:
    import fcntl
    import os

    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_sqlite_writer_holds_the_writers_lock_file_from_begin_to_commit_or_rollback(database_url):
    """Writers queue on a lock file beside the database (flock: the kernel wakes the next one when
    it is given back) before they ask SQLite for its write lock, whose busy handler only polls.
    The lock is held for exactly the write transaction: committed, rolled back, or abandoned."""
    if not database_url.startswith("sqlite"):
        import pytest
        pytest.skip("SQLite's writers' lock file")
    engine = make_engine(database_url)
    path = database_url.removeprefix("sqlite:///") + "-writers.lock"
    try:
        with engine.connect() as conn, conn.begin():  # a read takes no lock
            conn.execute(select(func.count()).select_from(server_state))
        for end in ("commit", "rollback", "abandon"):
            conn = engine.connect().execution_options(write=True)
            conn.begin()
            conn.execute(insert(server_state).values(key=f"lock-{end}", value="x"))
            assert not _lock_is_free(path), end
            if end == "commit":
                conn.commit()
            elif end == "rollback":
                conn.rollback()
            conn.close()
            assert _lock_is_free(path), end
        with engine.connect() as conn:
            assert set(conn.execute(select(server_state.c.key).where(server_state.c.key.like("lock-%")))
                       .scalars()) == {"lock-commit"}
    finally:
        engine.dispose()
