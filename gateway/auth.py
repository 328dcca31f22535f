"""Bearer tokens -> Access: who is calling, for which app, with which scopes.

Three kinds are accepted: RS256 tokens of this server's own authorization
server (gateway/oauth, recognised by their `kid`, verified with the local public
key, no HTTP fetch); HS256 with SAMENZORG_JWT_SECRET (`samenzorg token`, dev and
tests) when no SAMENZORG_JWKS_URL is set; RS256/ES256 with keys from
SAMENZORG_JWKS_URL (an organisation's identity provider; fetched and cached by
PyJWT's JWK client). `iss`, `aud` (when configured), `exp` and `nbf` are checked;
a token without `exp` is refused.
"""
from __future__ import annotations

import re
import time
import uuid
from functools import cached_property

import jwt

from .access import Access
from .config import Settings
from .errors import Forbidden, Unauthorized
from .scopes import contexts, parse_scopes

_ROLES = {"RelatedPerson": "related-person", "Practitioner": "practitioner", "Patient": "patient"}
LEEWAY_SECONDS = 30
CACHE_SIZE = 4096


class TokenVerifier:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._cache: dict[str, dict] = {}

    @cached_property
    def _jwks(self):
        return jwt.PyJWKClient(self.settings.jwks_url, cache_keys=True, lifespan=300, timeout=5)

    @cached_property
    def _own_key(self):
        from .oauth.keys import signing_key

        return signing_key(self.settings)

    def _is_own(self, token: str) -> bool:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            return False
        # alg first: an HS256 dev token never makes the server load (or generate) its RSA key
        return header.get("alg") == "RS256" and header.get("kid") == self._own_key.kid

    def _key_and_algorithms(self, token: str):
        if self._is_own(token):
            return self._own_key.public_pem, ["RS256"]
        if self.settings.jwks_url:
            try:
                return self._jwks.get_signing_key_from_jwt(token).key, ["RS256", "ES256"]
            except jwt.PyJWKClientConnectionError:
                raise Unauthorized("The token's signing keys cannot be fetched right now.") from None
            except jwt.PyJWKClientError as exc:
                raise Unauthorized(f"The token's signing key is unknown: {exc}") from None
        return self.settings.signing_secret(), ["HS256"]

    def verify(self, token: str) -> dict:
        """Verified claims; a token seen before is not verified again until it expires."""
        hit = self._cache.get(token)
        now = time.time()
        if hit is not None and hit["exp"] + LEEWAY_SECONDS > now:
            return hit
        claims = self._verify(token)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()  # crude but bounded; a busy gateway re-verifies at most once per token
        self._cache[token] = claims
        return claims

    def _verify(self, token: str) -> dict:
        try:
            key, algorithms = self._key_and_algorithms(token)
            own = algorithms == ["RS256"] and self._is_own(token)
            return jwt.decode(
                token, key, algorithms=algorithms,
                # Our own tokens name our issuer (the FHIR base); SAMENZORG_JWT_ISSUER names the IdP's.
                issuer=None if own else (self.settings.jwt_issuer or None),
                audience=self.settings.jwt_audience or None,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.settings.jwt_audience)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The token is not valid yet (nbf).") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"The token is not valid: {exc}") from None


def access_from_header(header: str | None, verifier: TokenVerifier, base_url: str | None = None) -> Access:
    if not header:
        raise Unauthorized("A bearer token is required.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>'.")
    return access_from_claims(verifier.verify(token.strip()), base_url)


_LOCAL_USER = re.compile(r"(Patient|Practitioner|RelatedPerson)/([A-Za-z0-9\-.]{1,64})")


def _local_user(fhir_user: object, base_url: str | None) -> tuple[str, str]:
    """fhirUser as (type, id) on this server. It may be relative ("RelatedPerson/12") or absolute
    on this server's base; a person on another server is not one of ours (401), never read as
    the local id."""
    value = str(fhir_user)
    if "://" in value:
        base = (base_url or "").rstrip("/") + "/"
        if not base_url or not value.startswith(base):
            raise Unauthorized("The token's fhirUser names a person on another server than this one.")
        value = value[len(base):]
    m = _LOCAL_USER.fullmatch(value)
    if m is None:
        raise Forbidden("The token's fhirUser is not a Patient, Practitioner or RelatedPerson of this server.")
    return m.group(1), m.group(2)


def access_from_claims(claims: dict, base_url: str | None = None) -> Access:
    scope = claims.get("scope", "")
    if isinstance(scope, list) and all(isinstance(s, str) for s in scope):
        scope = " ".join(scope)
    if not isinstance(scope, str):
        raise Unauthorized("The token's scope claim must be a space-separated string.")
    scopes = parse_scopes(scope)
    fhir_user = claims.get("fhirUser")
    client_id = claims.get("azp") or claims.get("client_id")
    if fhir_user:
        rtype, rid = _local_user(fhir_user, base_url)
        role = _ROLES[rtype]
        if "system" in contexts(scopes):
            raise Forbidden("system/ scopes belong to system clients, not to a person's token.")
        patient = claims.get("patient")
        return Access(role=role, fhir_user=f"{rtype}/{rid}", scopes=scopes, client_id=client_id,
                      subject=claims.get("sub"), launch_patient=patient if isinstance(patient, str) else None)
    if contexts(scopes) - {"system"}:
        raise Forbidden("A token without fhirUser acts as a system client and needs system/ scopes only.")
    return Access(role="system", fhir_user=None, scopes=scopes, client_id=client_id or claims.get("sub"),
                  subject=claims.get("sub"))


def mint(settings: Settings, *, scope: str, fhir_user: str | None = None, ttl: int = 3600,
         subject: str | None = None, client_id: str = "samenzorg-dev", patient: str | None = None) -> str:
    """A signed HS256 token for development and tests (never for production identities)."""
    now = int(time.time())
    claims = {"sub": subject or fhir_user or client_id, "scope": scope, "iat": now, "nbf": now,
              "exp": now + ttl, "jti": uuid.uuid4().hex, "azp": client_id}
    if fhir_user:
        claims["fhirUser"] = fhir_user
    if patient:
        claims["patient"] = patient
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.signing_secret(), algorithm="HS256")
