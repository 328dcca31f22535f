"""The authorization server's rows: one function per question, each in its own short transaction."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

import orjson
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..storage.tables import (oauth_approvals, oauth_assertion_jtis, oauth_clients, oauth_codes,
                              oauth_login_failures, oauth_tokens, oauth_user_links, oauth_users)
from .models import AuthorizationCode, Client, Identity, Token, digest, utcnow


@contextmanager
def tx(engine, write: bool = False):
    """A transaction; a writing one takes SQLite's write lock up front (storage/db.py)."""
    with engine.connect().execution_options(write=write) as conn:
        with conn.begin():
            yield conn


# -- clients ---------------------------------------------------------------------------------------
def add_client(engine, *, client_id: str, name: str, auth_method: str, secret_hash: str | None,
               redirect_uris: list[str], scope: str, grant_types: list[str], jwks: dict | None = None,
               jwks_uri: str | None = None) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(insert(oauth_clients).values(
            client_id=client_id, name=name, auth_method=auth_method, secret_hash=secret_hash,
            redirect_uris=orjson.dumps(redirect_uris).decode(), scope=scope, grant_types=" ".join(grant_types),
            jwks=orjson.dumps(jwks).decode() if jwks else None, jwks_uri=jwks_uri, created_at=utcnow(),
            disabled=False))


def get_client(engine, client_id: str) -> Client | None:
    if not isinstance(client_id, str) or len(client_id) > 64:
        return None
    with tx(engine) as conn:
        row = conn.execute(select(oauth_clients).where(oauth_clients.c.client_id == client_id)).first()
    client = Client.from_row(row) if row else None
    return client if client and not client.disabled else None


def set_redirect_uris(engine, client_id: str, redirect_uris: list[str]) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(update(oauth_clients).where(oauth_clients.c.client_id == client_id)
                     .values(redirect_uris=orjson.dumps(redirect_uris).decode()))


def list_clients(engine) -> list[Client]:
    with tx(engine) as conn:
        rows = conn.execute(select(oauth_clients).order_by(oauth_clients.c.client_id)).all()
    return [Client.from_row(r) for r in rows]


# -- users -----------------------------------------------------------------------------------------
def add_user(engine, username: str, password_hash: str, display_name: str) -> int:
    with tx(engine, write=True) as conn:
        return conn.execute(insert(oauth_users).values(
            username=username, password_hash=password_hash, display_name=display_name, disabled=False,
            created_at=utcnow())).inserted_primary_key[0]


def get_user(engine, *, user_id: int | None = None, username: str | None = None):
    where = oauth_users.c.id == user_id if user_id is not None else oauth_users.c.username == username
    with tx(engine) as conn:
        return conn.execute(select(oauth_users).where(where)).first()


def list_users(engine):
    with tx(engine) as conn:
        return conn.execute(select(oauth_users).order_by(oauth_users.c.username)).all()


def set_disabled(engine, username: str, disabled: bool = True) -> bool:
    with tx(engine, write=True) as conn:
        done = conn.execute(update(oauth_users).where(oauth_users.c.username == username)
                            .values(disabled=disabled)).rowcount
        if done and disabled:  # a disabled person's apps lose their refresh tokens too
            uid = conn.execute(select(oauth_users.c.id).where(oauth_users.c.username == username)).scalar()
            conn.execute(update(oauth_tokens).where(oauth_tokens.c.user_id == uid,
                                                    oauth_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
        return bool(done)


def add_link(engine, user_id: int, fhir_type: str, fhir_id: str, patient_id: str | None, label: str) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(insert(oauth_user_links).values(user_id=user_id, fhir_type=fhir_type, fhir_id=fhir_id,
                                                     patient_id=patient_id, label=label))


def links(engine, user_id: int) -> list[Identity]:
    with tx(engine) as conn:
        rows = conn.execute(select(oauth_user_links).where(oauth_user_links.c.user_id == user_id)
                            .order_by(oauth_user_links.c.id)).all()
    return [Identity(r.id, r.fhir_type, r.fhir_id, r.patient_id, r.label) for r in rows]


# -- sign-in throttling ----------------------------------------------------------------------------
def recent_failures(engine, key: str, window: timedelta) -> int:
    with tx(engine) as conn:
        return conn.execute(select(func.count()).select_from(oauth_login_failures).where(
            oauth_login_failures.c.key == key, oauth_login_failures.c.failed_at > utcnow() - window)).scalar()


def record_attempt(engine, keys: list[str], window: timedelta) -> list[int]:
    """Record a sign-in attempt under each key (as a failure until it is forgotten); the row ids."""
    now = utcnow()
    with tx(engine, write=True) as conn:
        conn.execute(delete(oauth_login_failures).where(oauth_login_failures.c.failed_at < now - window))
        return [conn.execute(insert(oauth_login_failures).values(key=k[:200], failed_at=now)).inserted_primary_key[0]
                for k in keys]


def forget_attempt(engine, ids: list[int]) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(delete(oauth_login_failures).where(oauth_login_failures.c.id.in_(ids)))


def clear_failures(engine, key: str) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(delete(oauth_login_failures).where(oauth_login_failures.c.key == key))


# -- approvals -------------------------------------------------------------------------------------
def approved_scope(engine, user_id: int, client_id: str) -> set[str]:
    with tx(engine) as conn:
        rows = conn.execute(select(oauth_approvals.c.scope).where(
            oauth_approvals.c.user_id == user_id, oauth_approvals.c.client_id == client_id,
            oauth_approvals.c.revoked_at.is_(None))).all()
    return {s for r in rows for s in r.scope.split()}


def approve(engine, user_id: int, client_id: str, scope: str) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(insert(oauth_approvals).values(user_id=user_id, client_id=client_id, scope=scope,
                                                    created_at=utcnow()))


def approvals(engine, user_id: int) -> list[tuple[str, str, str, datetime]]:
    """(client_id, app name, scope, since) of the user's current approvals, one per app."""
    with tx(engine) as conn:
        rows = conn.execute(select(oauth_approvals.c.client_id, oauth_clients.c.name, oauth_approvals.c.scope,
                                   oauth_approvals.c.created_at)
                            .join(oauth_clients, oauth_clients.c.client_id == oauth_approvals.c.client_id)
                            .where(oauth_approvals.c.user_id == user_id, oauth_approvals.c.revoked_at.is_(None))
                            .order_by(oauth_approvals.c.created_at)).all()
    apps: dict[str, tuple[str, str, str, datetime]] = {}
    for client_id, name, scope, since in rows:  # a wider approval later adds to the first one
        _, _, before, first = apps.get(client_id, (client_id, name, "", since))
        apps[client_id] = (client_id, name, " ".join(dict.fromkeys(before.split() + scope.split())), first)
    return list(apps.values())


def revoke_approval(engine, user_id: int, client_id: str) -> int:
    """Forget the approval and revoke what the app holds for this user (its refresh tokens)."""
    now = utcnow()
    with tx(engine, write=True) as conn:
        n = conn.execute(update(oauth_approvals).where(
            oauth_approvals.c.user_id == user_id, oauth_approvals.c.client_id == client_id,
            oauth_approvals.c.revoked_at.is_(None)).values(revoked_at=now)).rowcount
        conn.execute(update(oauth_tokens).where(
            oauth_tokens.c.user_id == user_id, oauth_tokens.c.client_id == client_id,
            oauth_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    return n


# -- authorization codes ---------------------------------------------------------------------------
def save_code(engine, code: str, ttl: int, **values) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(insert(oauth_codes).values(code_hash=digest(code), expires_at=utcnow() + timedelta(seconds=ttl),
                                                **values))


def claim_code(engine, code: str, client_id: str) -> AuthorizationCode | None:
    """The code if it is this client's, unexpired and unused, marked used in the same transaction
    (two requests cannot both use it). A code presented a second time is refused, and the tokens
    issued from it are revoked (RFC 6749 §4.1.2)."""
    if not isinstance(code, str) or len(code) > 256:
        return None
    h = digest(code)
    now = utcnow()
    with tx(engine, write=True) as conn:
        row = conn.execute(select(oauth_codes).where(oauth_codes.c.code_hash == h)).first()
        if row is None or row.client_id != client_id:
            return None
        claimed = row.used_at is None and conn.execute(
            update(oauth_codes).where(oauth_codes.c.code_hash == h, oauth_codes.c.used_at.is_(None))
            .values(used_at=now)).rowcount == 1
        if not claimed:
            conn.execute(update(oauth_tokens).where(oauth_tokens.c.code_hash == h,
                                                    oauth_tokens.c.revoked_at.is_(None)).values(revoked_at=now))
            return None
        if row.expires_at <= now:
            return None
        return AuthorizationCode(**row._mapping)


def nonce_used(engine, client_id: str, nonce: str) -> bool:
    with tx(engine) as conn:
        return conn.execute(select(oauth_codes.c.code_hash).where(
            oauth_codes.c.client_id == client_id, oauth_codes.c.nonce == nonce)).first() is not None


# -- tokens ----------------------------------------------------------------------------------------
def save_token(engine, **values) -> None:
    refresh = values.pop("refresh_token", None)
    with tx(engine, write=True) as conn:
        conn.execute(insert(oauth_tokens).values(refresh_hash=digest(refresh) if refresh else None,
                                                 issued_at=utcnow(), **values))


def _token(row, kind: str) -> Token:
    m = dict(row._mapping)
    m.pop("refresh_hash")
    return Token(**m, kind=kind)


def by_refresh(engine, refresh_token: str) -> Token | None:
    if not isinstance(refresh_token, str) or len(refresh_token) > 256:
        return None
    with tx(engine) as conn:
        row = conn.execute(select(oauth_tokens).where(oauth_tokens.c.refresh_hash == digest(refresh_token))).first()
    return _token(row, "refresh_token") if row else None


def by_jti(engine, jti: str) -> Token | None:
    with tx(engine) as conn:
        row = conn.execute(select(oauth_tokens).where(oauth_tokens.c.jti == jti)).first()
    return _token(row, "access_token") if row else None


def revoke_token(engine, token_id: int) -> bool:
    """Revoke one issuance (its access and refresh token); False when it was revoked already."""
    with tx(engine, write=True) as conn:
        return conn.execute(update(oauth_tokens).where(oauth_tokens.c.id == token_id,
                                                       oauth_tokens.c.revoked_at.is_(None))
                            .values(revoked_at=utcnow())).rowcount == 1


def revoke_chain(engine, code_hash: str) -> None:
    """Revoke every token issued from one authorization code, by it or by refreshes after it."""
    with tx(engine, write=True) as conn:
        conn.execute(update(oauth_tokens).where(oauth_tokens.c.code_hash == code_hash,
                                                oauth_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow()))


def revoke_jti(engine, jti: str) -> None:
    with tx(engine, write=True) as conn:
        conn.execute(update(oauth_tokens).where(oauth_tokens.c.jti == jti).values(revoked_at=utcnow()))


# -- client assertions -----------------------------------------------------------------------------
def first_use_of_jti(engine, key: str, expires_at: datetime) -> bool:
    """Record a client assertion's jti; False when it was seen before (a replay). Kept by digest: the
    column holds 255 characters and a client's `iss|jti` may be longer (cut, it was looked up whole,
    not found, and its replay failed on the primary key: a 500)."""
    now = utcnow()
    key = digest(key)
    try:
        with tx(engine, write=True) as conn:
            conn.execute(delete(oauth_assertion_jtis).where(oauth_assertion_jtis.c.expires_at < now))
            if conn.execute(select(oauth_assertion_jtis.c.jti_key).where(
                    oauth_assertion_jtis.c.jti_key == key)).first():
                return False
            conn.execute(insert(oauth_assertion_jtis).values(jti_key=key, expires_at=expires_at))
            return True
    except IntegrityError:  # the same assertion, recorded by a concurrent request a moment ago
        return False
