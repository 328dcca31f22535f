"""Engine set-up and schema migration for SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns, power loss included, so no answer leaves
        # before its audit record is durable (DESIGN.md); in WAL mode that is one fsync per commit,
        # shared by the reads of a group commit (~0.4 ms on the development machine).
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # A writer takes the write lock up front; a deferred BEGIN that later
        # writes can fail with SQLITE_BUSY instead of waiting its turn.
        if conn.get_execution_options().get("write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


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
