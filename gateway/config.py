"""Settings from SAMENZORG_* environment variables (and a `.env` file if present)."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from dotenv import dotenv_values

PREFIX = "SAMENZORG_"


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/samenzorg.db"
    base_url: str = ""  # empty: derived from each request's host
    jwt_secret: str | None = None
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    log_level: str = "INFO"
    cors_origins: str = ""  # comma-separated browser origins allowed to call the API, or "*"
    var_dir: str = "var"
    config: str = ""  # SAMENZORG_CONFIG: the sources file (samenzorg.toml); empty: ./samenzorg.toml if present
    max_body_bytes: int = 8 * 1024 * 1024  # a request body (a resource with a photo fits)
    max_bundle_bytes: int = 32 * 1024 * 1024  # a batch/transaction Bundle or $import-network document
    oauth_key_file: str = ""  # the authorization server's RS256 key (PEM); default var/oauth-signing-key.pem
    access_token_ttl: int = 600  # seconds an access token from /oauth/token is valid
    portal_client_id: str = "familieportaal"  # the family portal's public SMART client (/portal/config.json)
    # Subscriptions: "1"/"true" lets channel.endpoint be plain http beyond loopback (a closed network
    # only); seconds the worker waits for a subscriber's endpoint (connect and read, each).
    subscription_allow_http: str = ""
    subscription_timeout: int = 10

    @property
    def allow_http_subscriptions(self) -> bool:
        return self.subscription_allow_http.strip().lower() in ("1", "true", "yes", "on")

    @classmethod
    def from_env(cls, environ: dict | None = None, env_file: str | os.PathLike = ".env") -> "Settings":
        values: dict[str, str] = {}
        if Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        known = set(cls.__dataclass_fields__)
        kwargs = {}
        for key, value in values.items():
            if key.startswith(PREFIX):
                name = key[len(PREFIX):].lower()
                if name in known and value != "":
                    kwargs[name] = _whole_number(key, value) if cls.__dataclass_fields__[name].type == "int" else value
        return cls(**kwargs)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def signing_secret(self) -> bytes:
        """The server's own secret: the configured JWT secret, else one generated into var/.

        Generated once and kept, so tokens and page links survive a restart; a
        deployment with several processes configures SAMENZORG_JWT_SECRET.
        """
        if self.jwt_secret:
            return self.jwt_secret.encode()
        return _dev_secret(str(Path(self.var_dir).resolve()))

    def derived_key(self, purpose: str) -> bytes:
        return _derive(self.signing_secret(), purpose)


def _whole_number(key: str, value: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) == 0:
        raise ValueError(f"{key} must be a whole number above 0, not '{value}'.")
    return int(value)


@lru_cache(maxsize=16)
def _dev_secret(var_dir: str) -> bytes:
    path = Path(var_dir) / "dev-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


@lru_cache(maxsize=64)
def _derive(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()
