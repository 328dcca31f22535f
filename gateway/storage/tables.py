"""The schema, one for SQLite and PostgreSQL.

`resources` holds the current version of every resource (its JSON exactly as
served), `resource_history` every version ever written (delete included).
The `idx_*` tables hold search-index rows for the *current* version only;
they are rewritten in the same transaction as each write, so a search never
sees a half-written resource and never scans JSON in Python.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
Serial = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

resources = Table(
    "resources",
    metadata,
    Column("rid", Serial, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    # Naive UTC everywhere: SQLite has no time zones, and one rule for both
    # databases keeps comparisons and sorting identical.
    Column("last_updated", DateTime(), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("body", LargeBinary, nullable=True),
    UniqueConstraint("res_type", "res_id"),
    Index(None, "res_type", "last_updated"),
)

resource_history = Table(
    "resource_history",
    metadata,
    # seq orders the system history and makes history paging stable.
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", DateTime(), nullable=False),
    Column("method", String(8), nullable=False),
    Column("body", LargeBinary, nullable=True),
    UniqueConstraint("res_type", "res_id", "version"),
    Index(None, "res_type", "seq"),
    Index(None, "last_updated"),
)

# The patient compartment of every version (for a delete: of the version it deleted), so
# vread and history judge each version on its own, in SQL first, without parsing bodies.
history_compartment = Table(
    "history_compartment",
    metadata,
    Column("seq", Serial, ForeignKey("resource_history.seq", ondelete="CASCADE"), nullable=False),
    Column("patient_id", String(64), nullable=False),
    Index(None, "patient_id", "seq"),
    Index(None, "seq"),
)

# What the stored data was built under, e.g. {"index_rules": "2"}: when the code's rules move on,
# `samenzorg db upgrade` rebuilds what depends on them.
server_state = Table(
    "server_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)


def _index_table(name: str, *columns: Column, indexes: tuple = ()) -> Table:
    return Table(
        name,
        metadata,
        Column("rid", Serial, ForeignKey("resources.rid", ondelete="CASCADE"), nullable=False),
        Column("res_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *columns,
        Index(None, "rid"),
        *indexes,
    )


idx_token = _index_table(
    "idx_token",
    Column("system", String(255), nullable=True),
    Column("code", String(255), nullable=True),
    # Normalised (lower-case, accent-free) display / CodeableConcept.text, for :text.
    Column("text", String(255), nullable=True),
    indexes=(Index(None, "res_type", "param", "code", "system"),),
)

idx_string = _index_table(
    "idx_string",
    # Lower-case, accent-free, truncated: the default starts-with search.
    Column("value_norm", String(255), nullable=False),
    # As written, for :exact.
    Column("value_exact", Text, nullable=False),
    indexes=(
        Index(None, "res_type", "param", "value_norm"),
        # PostgreSQL uses a plain index for LIKE 'x%' only under the C
        # collation; with pattern ops it does so under any.
        Index("ix_idx_string_prefix", "res_type", "param", "value_norm",
              postgresql_ops={"value_norm": "varchar_pattern_ops"}).ddl_if(dialect="postgresql"),
    ),
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    # Absolute or otherwise unresolvable references, as written.
    Column("target_url", Text, nullable=True),
    indexes=(
        Index(None, "res_type", "param", "target_id", "target_type"),
        Index(None, "target_type", "target_id"),
    ),
)

idx_date = _index_table(
    "idx_date",
    # The instant range the value covers: low inclusive, high exclusive;
    # None is unbounded (an open Period end).
    Column("low", DateTime(), nullable=True),
    Column("high", DateTime(), nullable=True),
    indexes=(Index(None, "res_type", "param", "low", "high"),),
)

idx_uri = _index_table(
    "idx_uri",
    Column("uri", String(512), nullable=False),
    indexes=(Index(None, "res_type", "param", "uri"),),
)

INDEX_TABLES = {
    "token": idx_token,
    "string": idx_string,
    "reference": idx_reference,
    "date": idx_date,
    "uri": idx_uri,
}


# --- Connectors: pull/sync (issue 10) -------------------------------------------------------------
# Per source: where the last stored page left off, the last run's outcome, and a lease so that of
# several workers only one syncs a source at a time.
sync_state = Table(
    "sync_state",
    metadata,
    Column("source", String(63), primary_key=True),
    Column("cursor", Text, nullable=True),           # the connector's own, opaque; None: from the start
    Column("running", Boolean, nullable=False, default=False),  # a run stopped mid-way resumes from cursor
    Column("last_started", DateTime(), nullable=True),
    Column("last_success", DateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_summary", Text, nullable=True),     # JSON: fetched, created, updated, ... seconds
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", DateTime(), nullable=True),
)

# What each upstream resource became here: the local id (derived from the upstream identity, so a
# re-sync finds it), and the upstream version last applied, so an older version never overwrites a
# newer one (history pages come newest first).
sync_records = Table(
    "sync_records",
    metadata,
    Column("source", String(63), nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("upstream_id", String(255), nullable=False),
    Column("local_id", String(64), nullable=False),
    Column("upstream_updated", DateTime(), nullable=True),
    Column("upstream_version", String(64), nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    UniqueConstraint("source", "res_type", "upstream_id"),
)

# Which upstream record (a FHIR resource, a network document, a csv client) produced which
# resources: a record that no longer lists a resource deletes it, unless another record still does.
sync_links = Table(
    "sync_links",
    metadata,
    Column("source", String(63), nullable=False),
    Column("record", String(255), nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("upstream_id", String(255), nullable=False),
    UniqueConstraint("source", "record", "res_type", "upstream_id"),
    Index(None, "source", "res_type", "upstream_id"),
)

# Upstream records that could not be stored: the raw record and why; one row per record (a record
# that fails again replaces its row, one that succeeds later removes it).
quarantine = Table(
    "quarantine",
    metadata,
    Column("qid", Serial, primary_key=True, autoincrement=True),
    Column("source", String(63), nullable=False),
    Column("record", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("received", DateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    UniqueConstraint("source", "record"),
)
