"""What the authorization server keeps, as Authlib sees it: clients, codes, tokens and the person
an authorization is for (a user acting as one of their linked FHIR identities)."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin

from .scopes import allowed_scope

_HASHER = PasswordHasher()
# A fixed hash to verify against when there is no such user or secret, so a wrong name costs as
# long as a wrong password (no user enumeration by timing).
_DUMMY = _HASHER.hash("not a password of anyone")


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored: str | None, given: str) -> bool:
    try:
        return _HASHER.verify(stored or _DUMMY, given) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def digest(value: str) -> str:
    """Codes and refresh tokens are random and long: a plain SHA-256 keeps them unusable at rest."""
    return hashlib.sha256(value.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)  # naive UTC, as every table stores


_SECRET_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass
class Client(ClientMixin):
    client_id: str
    name: str
    auth_method: str
    secret_hash: str | None
    redirect_uris: list[str]
    scope: str
    grant_types: list[str]
    jwks: dict | None = None
    jwks_uri: str | None = None
    disabled: bool = False

    @classmethod
    def from_row(cls, row) -> "Client":
        return cls(row.client_id, row.name, row.auth_method, row.secret_hash, orjson.loads(row.redirect_uris),
                   row.scope, row.grant_types.split(), orjson.loads(row.jwks) if row.jwks else None,
                   row.jwks_uri, row.disabled)

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        # Never guessed: a request must name its redirect_uri, which must match exactly.
        return None

    def get_allowed_scope(self, scope):
        return allowed_scope(scope, self.scope)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris  # exact string match, as registered

    def check_client_secret(self, client_secret):
        return verify_secret(self.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        # The same credentials at every endpoint (token, revocation, introspection); a secret may be
        # sent either way RFC 6749 §2.3.1 allows.
        if self.auth_method in _SECRET_METHODS:
            return method in _SECRET_METHODS
        return method == self.auth_method

    def check_response_type(self, response_type):
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type):
        return grant_type in self.grant_types


@dataclass(frozen=True)
class Identity:
    """One FHIR identity of a user (a Person.link): whom a token speaks for."""
    link_id: int
    fhir_type: str
    fhir_id: str
    patient_id: str | None
    label: str

    @property
    def reference(self) -> str:
        return f"{self.fhir_type}/{self.fhir_id}"


@dataclass
class Principal:
    """The user a grant is for, acting as one identity (Authlib's `user`)."""
    user_id: int
    username: str
    display_name: str
    fhir_user: str
    patient_id: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_user_id(self):
        return self.user_id


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code_hash: str
    client_id: str
    user_id: int
    fhir_user: str
    patient_id: str | None
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: datetime
    used_at: datetime | None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


@dataclass
class Token(TokenMixin):
    id: int
    jti: str
    client_id: str
    user_id: int | None
    fhir_user: str | None
    patient_id: str | None
    scope: str
    issued_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    revoked_at: datetime | None
    code_hash: str | None = None  # the authorization code the token (or its refresh chain) came from
    kind: str = "access_token"  # which of the two the caller presented

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return int((self.access_expires_at - self.issued_at).total_seconds())

    def expires_at(self) -> datetime | None:
        return self.refresh_expires_at if self.kind == "refresh_token" else self.access_expires_at

    def is_expired(self):
        end = self.expires_at()
        return end is not None and end <= utcnow()

    def is_revoked(self):
        return self.revoked_at is not None

    def get_user(self):
        return self.user_id

    def get_client(self):
        return self.client_id
