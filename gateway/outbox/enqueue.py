"""Which writes are owed to a source of record, recorded in the same transaction as the write.

Owed: logbook messages (Communication) written by a client, a representative or an informal
carer, and Consent changes (create, update, delete) made by the client or their legal
representative — about a client some configured source owns (`Config.owner_of`). Practitioners and
system clients write into the record system themselves; a sync (a system write) is never echoed.
"""
from __future__ import annotations

import uuid

import orjson
from sqlalchemy import insert, select

from connectors.config import Config

from .. import fhirtime
from ..policy import patient_of
from ..storage.tables import outbox, resources

PERSONS = ("patient", "related-person")


class WriteBack:
    """The sources a gateway writes back to; `owe` is called by the repository after each write."""

    def __init__(self, config: Config):
        self.config = config

    def owe(self, repo, res_type: str, res_id: str, version: int, action: str, body: dict | None) -> None:
        """Record an outbox row for this write when it is owed (same connection, same transaction).

        `body` is the version written (a delete: the version it deleted)."""
        if not self.config.sources or body is None or repo.access.role not in PERSONS:
            return
        if res_type == "Consent":
            if repo.access.role == "related-person" and not repo.policy.is_representative:
                return
        elif res_type != "Communication":
            return
        patient_ref = patient_of(body)
        if patient_ref is None:
            return
        patient_id = patient_ref.partition("/")[2]
        patient = repo.conn.execute(select(resources.c.body).where(
            resources.c.res_type == "Patient", resources.c.res_id == patient_id)).scalar()
        if patient is None:
            return
        source = self.config.owner_of(orjson.loads(patient))
        if source is None:
            return
        key = uuid.uuid4().hex
        # Every version of one resource goes upstream under the identifier its first item got.
        first = repo.conn.execute(select(outbox.c.resource_key).where(
            outbox.c.res_type == res_type, outbox.c.res_id == res_id).order_by(outbox.c.id).limit(1)).scalar()
        now = fhirtime.now()
        repo.conn.execute(insert(outbox).values(
            source=source.name, idempotency_key=key, resource_key=first or key, action=action,
            res_type=res_type, res_id=res_id, version=version, patient_id=patient_id, state="pending",
            attempts=0, created_at=now, next_attempt_at=now))
