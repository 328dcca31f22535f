"""Retrying quarantined records: map the record as the source sent it again, and store it.

For after a fix (the mapping, the config, or the gateway's validation): the record is not fetched
again, so what is retried is exactly what was refused. A record that fails again stays in
quarantine with the new reason and one more attempt.
"""
from __future__ import annotations

from sqlalchemy import delete

from connectors.base import connector_for
from connectors.config import Config, ConfigError

from .repository import Repository
from .storage.tables import quarantine
from .sync_store import put_in_quarantine, record_key, store_change


def retry(engine, config: Config, rows) -> list[tuple[int, str, str]]:
    """(qid, record, "stored" | "quarantined: <reason>") per row, each in its own transaction."""
    out = []
    for row in rows:
        try:
            source = config.source(row.source)
        except ConfigError as exc:
            out.append((row.qid, row.record, f"left alone: {exc}"))
            continue
        connector = connector_for(source, session=_NoNetwork())
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            try:
                changes = connector.changes_from_raw(row.raw)
            except (ValueError, KeyError, TypeError) as exc:
                put_in_quarantine(conn, source.name, row.record, row.raw, f"cannot be mapped again: {exc}")
                out.append((row.qid, row.record, f"quarantined: cannot be mapped again: {exc}"))
                continue
            repo = Repository(conn)
            failed = [c for c in changes if store_change(conn, repo, source, c).quarantined]
            if not failed and all(record_key(c) != row.record for c in changes):
                conn.execute(delete(quarantine).where(quarantine.c.qid == row.qid))
        if failed:
            out.append((row.qid, row.record, "quarantined again (see `samenzorg quarantine show`)"))
        else:
            out.append((row.qid, row.record, "stored"))
    return out


class _NoNetwork:
    """Retrying maps what was received; it never calls the source."""

    def __getattr__(self, name):
        raise RuntimeError("a quarantine retry does not call the source")
