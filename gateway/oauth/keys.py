"""The authorization server's signing key: generated once into var/ (0600), published as a JWK Set.

Access tokens and id_tokens are RS256 JWTs signed with it; the resource side verifies them with the
public half in-process (gateway/auth.py), never by fetching its own JWKS over HTTP.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import KeySet, RSAKey

from ..config import Settings

ALG = "RS256"
KEY_FILE = "oauth-signing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: KeySet  # for Authlib (joserfc): sets `kid` in the JWT header
    public_pem: bytes  # for PyJWT on the resource side
    public_jwks: dict  # what /oauth/jwks publishes


def key_path(settings: Settings) -> Path:
    return Path(settings.oauth_key_file) if settings.oauth_key_file else Path(settings.var_dir) / KEY_FILE


def signing_key(settings: Settings) -> SigningKey:
    return _load(str(key_path(settings).resolve()))


@lru_cache(maxsize=8)
def _load(path: str) -> SigningKey:
    pem = _read_or_create(Path(path))
    private = serialization.load_pem_private_key(pem, password=None)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    key = RSAKey.import_key(pem)
    kid = key.thumbprint()  # RFC 7638: stable for the key, changes when the key file is replaced
    key = RSAKey.import_key(pem, parameters={"kid": kid, "alg": ALG, "use": "sig"})
    public = RSAKey.import_key(public_pem, parameters={"kid": kid, "alg": ALG, "use": "sig"})
    return SigningKey(kid, KeySet([key]), public_pem, {"keys": [public.as_dict(private=False)]})


def _read_or_create(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        # Written aside and linked into place, so another worker never reads a half-written key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        try:
            os.link(tmp, path)
        except FileExistsError:  # another worker made it first: use theirs
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()
