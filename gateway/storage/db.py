"""Engine set-up and schema migration for SQLite and PostgreSQL."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from .durable import Checkpoints, WalSync

MIGRATIONS = Path(__file__).parent / "migrations"


class WriterLockConnection(sqlite3.Connection):
    """A SQLite connection that queues for the database's writers' lock file before it asks for
    SQLite's write lock, and leaves that queue when its transaction ends.

    SQLite's own lock has no queue: a writer that finds it taken sleeps in the busy handler
    (1, 2, 5, … up to 100 ms at a time) and looks again, so under load from several processes a
    write waited up to a second and a half while the lock sat free (p99 45x p50 for creates in
    the bench). `flock` on a file beside the database blocks in the kernel and wakes the next
    writer as soon as the lock is given back, across threads (each connection has its own open
    file) and processes alike. The lock file only orders writers; SQLite's lock still decides.
    """

    writer_lock_path: str | None = None
    wal_sync: WalSync | None = None  # set when the database is a file in WAL mode (durable.py)
    checkpoints: Checkpoints | None = None  # with wal_sync
    _lock_fd: int | None = None
    _locked = False
    _changes_synced = 0  # total_changes when this connection's writes were last made durable

    def take_writer_lock(self) -> None:
        if self.writer_lock_path is None or self._locked:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self.writer_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._locked = True

    def give_writer_lock_back(self) -> None:
        if self._locked and not self.in_transaction:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            self._locked = False

    def commit(self) -> None:
        wrote = self._locked or self.total_changes != self._changes_synced
        try:
            super().commit()
        finally:
            self.give_writer_lock_back()
        if wrote and self.wal_sync is not None:
            # Durable before commit() returns, synced after the write lock is free (durable.py).
            self.wal_sync.wait()
            changed, self._changes_synced = self.total_changes - self._changes_synced, self.total_changes
            self.checkpoints.after_commit(changed)

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_writer_lock_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the file also releases its lock
                self._lock_fd, self._locked = None, False


def make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        lock_path = wal_sync = checkpoints = None
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            database = str(Path(parsed.database).resolve())
            lock_path, wal_sync, checkpoints = database + "-writers.lock", WalSync(database), Checkpoints(database)
        engine = create_engine(url, connect_args={"timeout": 30, "factory": WriterLockConnection}, **kwargs)
        _sqlite_pragmas(engine, lock_path, wal_sync, checkpoints)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


def connect(engine: Engine, write: bool = False):
    """A request's connection. A read on PostgreSQL at READ COMMITTED (its default) runs without
    BEGIN and COMMIT, two of its four round trips: there every statement of a transaction sees a
    snapshot of its own anyway, so a read transaction adds nothing to what the read sees. And a
    connection closed inside a transaction is rolled back, which makes psycopg drop every statement
    it prepared on it. SQLite's read transaction is one snapshot for the whole request, and stays."""
    conn = engine.connect().execution_options(write=write)
    if not write and conn.dialect.name == "postgresql" and conn.default_isolation_level == "READ COMMITTED":
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


# A pooled connection used this recently is not pinged before it is handed out again (HikariCP's
# aliveBypassWindowMs: 500 ms). `pool_pre_ping` pinged on every checkout: a round trip added to
# each request (a system read has one statement), ~10 % of a read on PostgreSQL.
PING_AFTER_IDLE = 0.5


def _ping_after_idle(engine: Engine) -> None:
    """Before a connection that lay idle in the pool is used, ask the server it is still there; a
    dead one is replaced (SQLAlchemy retries the checkout on DisconnectionError), so a connection
    the server dropped while it lay idle (a restart, an idle timeout) costs no request an error."""
    @event.listens_for(engine, "checkin")
    def checked_in(dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_conn, record, proxy):
        since = record.info.get("idle_since")  # none for a connection just made
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            # Outside a transaction: one left open would be rolled back later, and psycopg then
            # drops the statements it prepared on this connection.
            was, dbapi_conn.autocommit = dbapi_conn.autocommit, True
            try:
                dbapi_conn.execute("SELECT 1")
            finally:
                dbapi_conn.autocommit = was
        except Exception as error:
            raise exc.DisconnectionError(f"pooled connection no longer usable: {error}") from error


def _sqlite_pragmas(engine: Engine, lock_path: str | None, wal_sync: WalSync | None,
                    checkpoints: Checkpoints | None) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_conn.isolation_level = None
        dbapi_conn.writer_lock_path = lock_path
        cur = dbapi_conn.cursor()
        wal = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
        # A commit is on disk before it returns, power loss included, so no answer leaves before its
        # audit record is durable (DESIGN.md). In WAL mode the WAL is synced after COMMIT gives the
        # write lock back, one fsync for the commits waiting meanwhile (durable.py), so COMMIT
        # itself need not sync (NORMAL); where WAL is unavailable, SQLite syncs inside COMMIT (FULL).
        dbapi_conn.wal_sync = wal_sync if wal else None
        cur.execute("PRAGMA synchronous=" + ("NORMAL" if dbapi_conn.wal_sync else "FULL"))
        if dbapi_conn.wal_sync:
            # WAL checkpoints run beside the writers, not inside their COMMIT (durable.py).
            dbapi_conn.checkpoints = checkpoints
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # A writer takes the write lock up front; a deferred BEGIN that later
        # writes can fail with SQLITE_BUSY instead of waiting its turn.
        # Straight to the driver: SQLAlchemy's statement machinery cost as much as the read after it.
        dbapi_conn = conn.connection.dbapi_connection
        if conn.get_execution_options().get("write"):
            dbapi_conn.take_writer_lock()
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.give_writer_lock_back()
                raise
        else:
            dbapi_conn.execute("BEGIN")


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the schema; at head, also rebuild index rows written under older index rules
    (after every migration, so the rebuild writes into the schema the code declares)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        from ..repository import refresh_index

        engine = make_engine(url)
        try:
            refresh_index(engine)
        finally:
            engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def schema_diff(url: str) -> list:
    """What the database lacks or has beyond the declared tables (empty when migrations are complete)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from .tables import metadata

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            dialect = conn.dialect.name

            def declared_here(obj, name, type_, reflected, compare_to):
                # Objects declared for another dialect only (ddl_if) are not expected here.
                ddl_if = getattr(obj, "_ddl_if", None)
                return ddl_if is None or ddl_if.dialect in (None, dialect)

            ctx = MigrationContext.configure(conn, opts={"include_object": declared_here})
            return compare_metadata(ctx, metadata)
    finally:
        engine.dispose()
