"""Who is signing in: one small interface, so an organisation's or national login (DigiD, eHerkenning,
an OpenID Connect provider) can replace the password form later without touching the OAuth flow."""
from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from flask import Request

from . import store
from .models import verify_secret

MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
FAILURE_WINDOW = timedelta(minutes=15)


class Authenticator(Protocol):
    def authenticate(self, request: Request):
        """The user row of whoever this request proves to be, or None."""


class PasswordAuthenticator:
    """Username and password (argon2 hashes in oauth_users)."""

    def __init__(self, engine):
        self.engine = engine

    def authenticate(self, request: Request):
        username = request.form.get("username", "")[:128]
        password = request.form.get("password", "")[:1024]
        row = store.get_user(self.engine, username=username) if username else None
        ok = verify_secret(row.password_hash if row else None, password)  # costs the same without a user
        return row if ok and row is not None and not row.disabled else None


def throttled(engine, username: str, ip: str) -> bool:
    return (store.recent_failures(engine, f"user:{username.lower()}", FAILURE_WINDOW) >= MAX_FAILURES_PER_USER
            or store.recent_failures(engine, f"ip:{ip}", FAILURE_WINDOW) >= MAX_FAILURES_PER_IP)


def begin_attempt(engine, username: str, ip: str) -> list[int] | None:
    """Record this attempt before the password is checked, then count it: None when it is over a
    limit (throttled; the attempt is forgotten again). Checking first and recording the failure
    after the (slow) password check let concurrent guesses all pass the check before any was
    counted; recorded and committed first, the sixth of any number of concurrent guesses counts six."""
    user_key, ip_key = f"user:{username.lower()}", f"ip:{ip}"
    ids = store.record_attempt(engine, [user_key, ip_key], FAILURE_WINDOW)
    if (store.recent_failures(engine, user_key, FAILURE_WINDOW) > MAX_FAILURES_PER_USER
            or store.recent_failures(engine, ip_key, FAILURE_WINDOW) > MAX_FAILURES_PER_IP):
        store.forget_attempt(engine, ids)
        return None
    return ids


def attempt_succeeded(engine, username: str, ids: list[int]) -> None:
    """A right password: the attempt was no failure, and the user's earlier failures are forgiven."""
    store.forget_attempt(engine, ids)
    store.clear_failures(engine, f"user:{username.lower()}")
