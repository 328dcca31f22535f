"""Who owns a Subscription and where its deliveries stand (the `subscriptions` table).

A Subscription belongs to the identity that created it: a person's to that person (whichever app
they used), a system client's to that client. Its row keeps the access it was created under, so
matching can judge every later write as that owner would see it then.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

import orjson
from sqlalchemy import delete, insert, select, update

from ..access import Access
from ..errors import NotFound
from ..scopes import parse_scopes
from ..storage.tables import subscriptions
from .rules import Channel

SOURCE_PREFIX = "subscription:"


def owner_of(access: Access) -> str:
    if access.fhir_user:
        return access.fhir_user
    if access.client_id:
        return f"client:{access.client_id}"
    return "system"


def scope_text(access: Access) -> str:
    return " ".join(f"{s.context}/{s.resource_type}.{''.join(p for p in 'cruds' if p in s.permissions)}"
                    for s in access.scopes)


def owner_access(row) -> Access:
    """The owner's access as stored: their role, identity and scopes, judged afresh at each write."""
    return Access(role=row.role, fhir_user=row.fhir_user, scopes=parse_scopes(row.scopes),
                  client_id=row.client_id, subject=row.subject, launch_patient=row.launch_patient)


def source_of(sid: int) -> str:
    return f"{SOURCE_PREFIX}{sid}"


def sid_of(source: str) -> int | None:
    return int(source[len(SOURCE_PREFIX):]) if source.startswith(SOURCE_PREFIX) else None


def owned_clause(access: Access):
    """Subscriptions this caller owns, as a clause over `resources` (the access clause for the type)."""
    from ..storage.tables import resources

    return resources.c.res_id.in_(select(subscriptions.c.res_id).where(subscriptions.c.owner == owner_of(access)))


def row_for(conn, res_id: str):
    return conn.execute(select(subscriptions).where(subscriptions.c.res_id == res_id)).first()


def require_owner(conn, access: Access, res_id: str) -> None:
    """Someone else's Subscription is not known to this caller (system clients included)."""
    row = row_for(conn, res_id)
    if row is not None and row.owner != owner_of(access):
        raise NotFound(f"Subscription/{res_id} is not known.")


def save(conn, access: Access, res_id: str, channel: Channel, status: str, base_url: str,
         ends_at: datetime | None) -> int:
    """Insert or update the row; its sid."""
    values = dict(criteria_type=channel.criteria_type,
                  criteria=urlencode(channel.criteria),
                  endpoint=channel.endpoint, headers=orjson.dumps(list(channel.headers)).decode(),
                  payload=channel.payload, status=status, ends_at=ends_at)
    row = row_for(conn, res_id)
    if row is None:
        return conn.execute(insert(subscriptions).values(
            res_id=res_id, owner=owner_of(access), role=access.role, fhir_user=access.fhir_user,
            client_id=access.client_id, subject=access.subject, launch_patient=access.launch_patient,
            scopes=scope_text(access), base_url=base_url, failures=0, error=None, **values)
            .returning(subscriptions.c.sid)).scalar_one()
    if status == "requested":
        values.update(failures=0, error=None)
    conn.execute(update(subscriptions).where(subscriptions.c.sid == row.sid).values(**values))
    return row.sid


def forget(conn, res_id: str) -> None:
    conn.execute(delete(subscriptions).where(subscriptions.c.res_id == res_id))
