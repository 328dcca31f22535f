"""What `samenzorg client …` and `samenzorg user …` do: register apps, add people who sign in and
link them to their FHIR identities. Secrets come from an environment variable or a prompt."""
from __future__ import annotations

import getpass
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import orjson

from ..config import Settings
from ..errors import FhirError
from ..loading import in_transaction
from ..storage.db import make_engine
from . import store
from .models import hash_secret
from .scopes import DEFAULT_PERSON_SCOPES

LINK_TYPES = ("RelatedPerson", "Patient", "Practitioner")


class AdminError(Exception):
    """A refusal the CLI prints as one line (exit 1)."""


def _secret_from_env(var: str) -> str:
    value = os.environ.get(var, "")
    if not value:
        raise AdminError(f"environment variable {var} is empty or not set")
    return value


def add_client(settings: Settings, *, name: str, redirect_uris: list[str], public: bool = False,
               secret_env: str | None = None, jwks_uri: str | None = None, jwks_file: Path | None = None,
               scope: str | None = None, grants: list[str] | None = None, client_id: str | None = None) -> str:
    kinds = sum(bool(x) for x in (public, secret_env, jwks_uri, jwks_file))
    if kinds != 1:
        raise AdminError("give exactly one of --public, --secret-from-env, --jwks-uri, --jwks-file")
    jwks = None
    if public:
        method, secret_hash = "none", None
    elif secret_env:
        method, secret_hash = "client_secret_basic", hash_secret(_secret_from_env(secret_env))
    else:
        method, secret_hash = "private_key_jwt", None
        if jwks_file:
            try:
                jwks = orjson.loads(Path(jwks_file).read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                raise AdminError(f"cannot read a JWK Set from {jwks_file}: {exc}") from None
            if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
                raise AdminError(f"{jwks_file} holds no JWK Set ({{\"keys\": [...]}})")
            if any("d" in k for k in jwks["keys"] if isinstance(k, dict)):
                raise AdminError(f"{jwks_file} holds a private key: register the public keys only")
    backend = method == "private_key_jwt"
    grants = grants or (["client_credentials"] if backend else ["authorization_code", "refresh_token"])
    unknown = set(grants) - {"authorization_code", "refresh_token", "client_credentials"}
    if unknown:
        raise AdminError(f"unknown grant type(s): {', '.join(sorted(unknown))}")
    if public and "client_credentials" in grants:
        raise AdminError("a public client cannot use client_credentials (it has no credentials)")
    if "authorization_code" in grants and not redirect_uris:
        raise AdminError("an app that signs people in needs at least one --redirect-uri")
    for uri in redirect_uris:
        if not uri.startswith(("https://", "http://")) or "#" in uri:
            raise AdminError(f"a redirect URI is an absolute http(s) URL without a fragment: {uri}")
    if scope is None:
        scope = "system/*.rs" if grants == ["client_credentials"] else DEFAULT_PERSON_SCOPES
    client_id = client_id or secrets.token_urlsafe(12)
    engine = make_engine(settings.database_url)
    try:
        if store.get_client(engine, client_id):
            raise AdminError(f"a client with id {client_id} exists already")
        store.add_client(engine, client_id=client_id, name=name, auth_method=method, secret_hash=secret_hash,
                         redirect_uris=redirect_uris, scope=scope, grant_types=grants, jwks=jwks,
                         jwks_uri=jwks_uri)
    finally:
        engine.dispose()
    return client_id


def list_clients(settings: Settings):
    engine = make_engine(settings.database_url)
    try:
        return store.list_clients(engine)
    finally:
        engine.dispose()


def read_password(env_var: str | None) -> str:
    if env_var:
        return _secret_from_env(env_var)
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise AdminError("the passwords differ")
    return first


def add_user(settings: Settings, username: str, display_name: str, password: str) -> int:
    if len(password) < 8:
        raise AdminError("a password has at least 8 characters")
    engine = make_engine(settings.database_url)
    try:
        if store.get_user(engine, username=username):
            raise AdminError(f"user {username} exists already")
        return store.add_user(engine, username, hash_secret(password), display_name or username)
    finally:
        engine.dispose()


def _name(body: dict) -> str:
    for n in body.get("name") or []:
        text = n.get("text") or " ".join([*n.get("given", []), n.get("family", "")]).strip()
        if text:
            return text
    return ""


def link_user(settings: Settings, username: str, reference: str, label: str | None = None) -> tuple[str, str | None]:
    """Link a user to a FHIR identity; returns (label, patient id). A RelatedPerson's patient is the
    client the link is for; a Patient is their own client; a Practitioner has none."""
    rtype, _, rid = reference.partition("/")
    if rtype not in LINK_TYPES or not rid:
        raise AdminError(f"link to RelatedPerson/<id>, Patient/<id> or Practitioner/<id>, not {reference}")
    engine = make_engine(settings.database_url)
    try:
        user = store.get_user(engine, username=username)
        if user is None:
            raise AdminError(f"no user {username}")

        def look(ctx):  # the administrator reads with full access (the CLI's Access.open())
            body = orjson.loads(ctx.repo.read(rtype, rid).body)
            patient_id, patient_name = None, ""
            if rtype == "Patient":
                patient_id, patient_name = rid, _name(body)
            elif rtype == "RelatedPerson":
                ref = (body.get("patient") or {}).get("reference", "")
                if ref.startswith("Patient/"):
                    patient_id = ref.partition("/")[2]
                    patient_name = _name(orjson.loads(ctx.repo.read("Patient", patient_id).body))
            return patient_id, patient_name, _name(body)

        try:
            patient_id, patient_name, own_name = in_transaction(settings, engine, look)
        except FhirError as exc:
            raise AdminError(f"{reference}: {exc.issues[0].diagnostics}") from None
        label = label or patient_name or own_name or reference
        if any(i.reference == reference for i in store.links(engine, user.id)):
            raise AdminError(f"{username} is linked to {reference} already")
        store.add_link(engine, user.id, rtype, rid, patient_id, label)
        return label, patient_id
    finally:
        engine.dispose()


@contextmanager
def _engine(settings: Settings):
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def users(settings: Settings) -> list[tuple]:
    """(username, display name, disabled, [link labels]) for every user."""
    with _engine(settings) as engine:
        return [(u.username, u.display_name, u.disabled,
                 [f"{i.reference} ({i.label})" for i in store.links(engine, u.id)]) for u in store.list_users(engine)]


def disable_user(settings: Settings, username: str, disabled: bool = True) -> None:
    with _engine(settings) as engine:
        if not store.set_disabled(engine, username, disabled):
            raise AdminError(f"no user {username}")


def user_apps(settings: Settings, username: str, revoke: str | None = None) -> list[tuple]:
    """The apps a user approved; with revoke=<client id>, that approval (and its tokens) withdrawn first."""
    with _engine(settings) as engine:
        user = store.get_user(engine, username=username)
        if user is None:
            raise AdminError(f"no user {username}")
        if revoke and not store.revoke_approval(engine, user.id, revoke):
            raise AdminError(f"{username} has no approval for client {revoke}")
        return store.approvals(engine, user.id)

