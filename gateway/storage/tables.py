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

# The audit records of disclosures as they are appended: the whole AuditEvent as it will be served,
# one row each, with whom it was shown to. This append is what a read pays before it answers (no disclosure
# leaves before its record is durable); `audit_store.settle` later moves the rows, in batches, into
# `resources`, history and the index tables, before anything reads AuditEvents.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Serial, primary_key=True, autoincrement=True),
    Column("recorded", DateTime(), nullable=False),
    Column("body", LargeBinary, nullable=False),
    # Who was shown it ("RelatedPerson/id"): a carer sees only their own access trail, so only their
    # own pending records need settling before they read (audit_store.pending).
    Column("agent", String(256), nullable=True),
    Index(None, "agent"),
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


# --- SMART App Launch authorization server (issue 11, gateway/oauth) -------------------------------
# Apps, people who sign in, and what the server issued to them. Secrets are never stored as given:
# client secrets and passwords as argon2 hashes, codes and refresh tokens as SHA-256 digests.

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    # client_secret_basic / client_secret_post / none (public) / private_key_jwt
    Column("auth_method", String(32), nullable=False),
    Column("secret_hash", Text, nullable=True),
    Column("redirect_uris", Text, nullable=False),  # JSON list, matched exactly
    Column("scope", Text, nullable=False),  # what the app may ever be granted (space-separated)
    Column("grant_types", Text, nullable=False),  # space-separated
    Column("jwks", Text, nullable=True),  # a registered JWK Set (JSON), for private_key_jwt
    Column("jwks_uri", Text, nullable=True),
    Column("created_at", DateTime(), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

oauth_users = Table(
    "oauth_users",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("username", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),
    Column("display_name", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(), nullable=False),
)

# A user's FHIR identities, like FHIR Person.link: one daughter of two parents is one user with two
# RelatedPerson links; a launch picks one. patient_id/label are fixed when the link is made.
oauth_user_links = Table(
    "oauth_user_links",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("user_id", Serial, ForeignKey("oauth_users.id", ondelete="CASCADE"), nullable=False),
    Column("fhir_type", String(32), nullable=False),
    Column("fhir_id", String(64), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("label", String(200), nullable=False),
    UniqueConstraint("user_id", "fhir_type", "fhir_id"),
)

oauth_approvals = Table(
    "oauth_approvals",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("user_id", Serial, ForeignKey("oauth_users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", String(64), ForeignKey("oauth_clients.client_id", ondelete="CASCADE"), nullable=False),
    Column("scope", Text, nullable=False),
    Column("created_at", DateTime(), nullable=False),
    Column("revoked_at", DateTime(), nullable=True),
    Index(None, "user_id", "client_id"),
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", Serial, ForeignKey("oauth_users.id", ondelete="CASCADE"), nullable=False),
    Column("fhir_user", String(100), nullable=False),
    Column("patient_id", String(64), nullable=True),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("nonce", Text, nullable=True),
    Column("code_challenge", String(128), nullable=True),
    Column("code_challenge_method", String(8), nullable=True),
    Column("auth_time", BigInteger, nullable=False),
    Column("expires_at", DateTime(), nullable=False),
    Column("used_at", DateTime(), nullable=True),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("jti", String(64), nullable=False, unique=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", BigInteger, nullable=True),
    Column("fhir_user", String(100), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("scope", Text, nullable=False),
    Column("refresh_hash", String(64), nullable=True, unique=True),
    Column("code_hash", String(64), nullable=True),  # the code it came from: a reused code revokes it
    Column("issued_at", DateTime(), nullable=False),
    Column("access_expires_at", DateTime(), nullable=False),
    Column("refresh_expires_at", DateTime(), nullable=True),
    Column("revoked_at", DateTime(), nullable=True),
    Index(None, "code_hash"),
)

# Failed sign-ins, by "user:<name>" and "ip:<address>", for throttling.
oauth_login_failures = Table(
    "oauth_login_failures",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("failed_at", DateTime(), nullable=False),
    Index(None, "key", "failed_at"),
)

# JWT ids of client assertions (private_key_jwt) already used, until they expire.
oauth_assertion_jtis = Table(
    "oauth_assertion_jtis",
    metadata,
    Column("jti_key", String(255), primary_key=True),
    Column("expires_at", DateTime(), nullable=False),
)


# -- Write-back outbox (issue 10, "outbox" half) --------------------------------------------
# One row per change a family or client made that a source of record must receive: written in
# the same transaction as the resource version it names, so a write is never stored without its
# delivery being owed (nor owed without being stored). Workers claim rows (FOR UPDATE SKIP LOCKED
# plus a lease on PostgreSQL), deliver, and mark them delivered or dead.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("source", String(63), nullable=False),          # the config's source name
    # Stable across retries; sent upstream (Idempotency-Key, file name, If-None-Exist).
    Column("idempotency_key", String(64), nullable=False),
    # Stable across the versions of one resource: the identifier Samenzorg assigns it upstream.
    Column("resource_key", String(64), nullable=False),
    Column("action", String(8), nullable=False),             # create | update | delete
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("patient_id", String(64), nullable=False),
    Column("state", String(10), nullable=False),             # pending | delivered | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(), nullable=False),
    Column("next_attempt_at", DateTime(), nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", DateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("upstream_ref", Text, nullable=True),
    Column("finished_at", DateTime(), nullable=True),
    UniqueConstraint("idempotency_key"),
    Index(None, "state", "next_attempt_at"),
    Index(None, "res_type", "res_id", "id"),
)


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


# -- Subscriptions (issue 13, items 1-2) -------------------------------------------------------
# One row per Subscription resource: who owns it (the access it was created under, so matching
# runs under the owner's rights as they are at each write) and its delivery state. The resource
# itself lives in `resources` like any other; notifications are rows of `outbox` whose source is
# "subscription:<sid>", delivered by the same worker.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("sid", Serial, primary_key=True, autoincrement=True),
    Column("res_id", String(64), nullable=False),
    Column("owner", String(200), nullable=False),            # fhirUser, or client:<client_id>
    Column("role", String(32), nullable=False),
    Column("fhir_user", String(200), nullable=True),
    Column("client_id", String(200), nullable=True),
    Column("subject", String(200), nullable=True),
    Column("launch_patient", String(64), nullable=True),
    Column("scopes", Text, nullable=False),                  # the owner's resource scopes, as granted
    Column("criteria_type", String(64), nullable=False),
    Column("criteria", Text, nullable=False),                # the query part of the criteria
    Column("endpoint", Text, nullable=False),
    Column("headers", Text, nullable=False),                 # JSON list of "Name: value"
    Column("payload", String(64), nullable=True),            # None: empty notification
    Column("base_url", Text, nullable=False),                # the FHIR base notifications name resources by
    Column("status", String(16), nullable=False),            # requested | active | error | off
    Column("failures", Integer, nullable=False, default=0),  # consecutive failed deliveries
    Column("error", Text, nullable=True),
    Column("ends_at", DateTime, nullable=True),              # Subscription.end (naive UTC): off from then on
    UniqueConstraint("res_id"),
    Index(None, "criteria_type", "status"),
)
