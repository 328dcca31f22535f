"""Authlib's grants, endpoints and token generator, told where our rows live. The protocol is
Authlib's; what is ours is storage, the scopes an app gets, and the SMART launch context."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jwt as pyjwt
import requests
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidGrantError, InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import (AuthorizationCodeGrant, ClientCredentialsGrant,
                                           RefreshTokenGrant)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core.grants import OpenIDCode
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import store
from .keys import signing_key
from .models import Principal, utcnow
from .scopes import for_grant, for_identity, wants_refresh
from .urls import fhir_base, issuer, token_url

CODE_TTL = 120  # seconds: an authorization code is exchanged at once by a working app
REFRESH_TTL = timedelta(days=30)
ALL_CLIENT_AUTH = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
# SMART Backend Services: clients sign assertions with RS384 or ES384; RS256/ES256 accepted too.
ASSERTION_ALGORITHMS = ["RS384", "ES384", "RS256", "ES256"]


def _principal(engine, user_id, fhir_user, patient_id, auth_time=None) -> Principal | None:
    row = store.get_user(engine, user_id=user_id)
    if row is None or row.disabled:
        return None
    return Principal(row.id, row.username, row.display_name, fhir_user, patient_id,
                     auth_time or int(time.time()))


class TokenGenerator(JWTBearerTokenGenerator):
    """RFC 9068 JWT access tokens carrying what the resource side reads: scope, fhirUser, patient, azp."""

    def __init__(self, server):
        super().__init__(issuer=None, alg="RS256", expires_generator=server.settings.access_token_ttl,
                         refresh_token_generator=lambda **_: generate_token(48))
        self.server = server

    @property
    def issuer(self):
        return issuer(self.server.settings)

    @issuer.setter
    def issuer(self, value):  # set by the base class; the issuer follows the request's host
        pass

    def get_jwks(self):
        return signing_key(self.server.settings).private

    def get_audiences(self, client, user, scope):
        return self.server.settings.jwt_audience or fhir_base(self.server.settings)

    @staticmethod
    def get_allowed_scope(client, scope):
        return scope  # narrowed in generate(), where the grant type is known

    def get_extra_claims(self, client, grant_type, user, scope):
        claims = {"azp": client.get_client_id()}
        if user is not None:
            claims["fhirUser"] = user.fhir_user
            if user.patient_id and "launch/patient" in scope.split():
                claims["patient"] = user.patient_id
        return claims

    def generate(self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
        allowed = client.get_allowed_scope(scope)
        if allowed is None:
            raise InvalidScopeError()
        scope = for_grant(allowed, grant_type)
        if user is not None:
            scope = for_identity(scope, user.fhir_user.partition("/")[0], user.patient_id)
        if not scope.strip():
            raise InvalidScopeError("None of the requested scopes can be granted to this client.")
        include_refresh_token = (include_refresh_token and user is not None and wants_refresh(scope)
                                 and client.check_grant_type("refresh_token"))
        token = super().generate(grant_type, client, user, scope, expires_in, include_refresh_token)
        if user is not None and user.patient_id and "launch/patient" in scope.split():
            token["patient"] = user.patient_id  # the SMART launch context
        return token


def save_token(server, token: dict, request) -> None:
    claims = pyjwt.decode(token["access_token"], options={"verify_signature": False})
    user = request.user
    code = getattr(request, "authorization_code", None)
    previous = getattr(request, "refresh_token", None)
    request.issued_jti = claims["jti"]
    store.save_token(
        server.engine, jti=claims["jti"], client_id=request.client.get_client_id(),
        user_id=user.user_id if user else None, fhir_user=user.fhir_user if user else None,
        patient_id=claims.get("patient"), scope=token.get("scope", ""),
        refresh_token=token.get("refresh_token"),
        code_hash=code.code_hash if code is not None else getattr(previous, "code_hash", None),
        access_expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc).replace(tzinfo=None),
        refresh_expires_at=utcnow() + REFRESH_TTL if token.get("refresh_token") else None)


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_CLIENT_AUTH

    def validate_authorization_request(self):
        redirect_uri = super().validate_authorization_request()
        payload, client = self.request.payload, self.request.client

        def refuse(description):
            raise InvalidRequestError(description, redirect_uri=redirect_uri)

        if not payload.state:
            refuse("'state' is required.")
        method, challenge = payload.data.get("code_challenge_method"), payload.data.get("code_challenge")
        if (challenge or method) and method != "S256":
            refuse("PKCE needs code_challenge_method=S256 (plain is not supported).")
        if client.public and not challenge:
            refuse("A public client must use PKCE (code_challenge with S256).")
        # SMART App Launch: aud is required, so a token is never obtained for another resource server.
        aud = payload.data.get("aud")
        if not aud or aud.rstrip("/") != fhir_base(self.server.settings).rstrip("/"):
            refuse("'aud' is required and must be this server's FHIR base URL.")
        scope = for_grant(self.request.scope or "", self.GRANT_TYPE)
        if not scope:
            raise InvalidScopeError("None of the requested scopes can be granted to this client.",
                                    redirect_uri=redirect_uri)
        self.request.scope = scope
        return redirect_uri

    def save_authorization_code(self, code, request):
        user: Principal = request.user
        data = request.payload.data
        store.save_code(
            self.server.engine, code, CODE_TTL, client_id=request.client.get_client_id(), user_id=user.user_id,
            fhir_user=user.fhir_user, patient_id=user.patient_id, redirect_uri=request.payload.redirect_uri,
            scope=request.scope, nonce=data.get("nonce"), code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"), auth_time=user.auth_time)

    def query_authorization_code(self, code, client):
        return store.claim_code(self.server.engine, code, client.get_client_id())

    def delete_authorization_code(self, authorization_code):
        pass  # claimed (marked used) when it was looked up, so two requests cannot both use it

    def authenticate_user(self, authorization_code):
        c = authorization_code
        return _principal(self.server.engine, c.user_id, c.fhir_user, c.patient_id, c.auth_time)


class SmartCodeChallenge(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def get_authorization_code_challenge(self, authorization_code):
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        return authorization_code.code_challenge_method


class SmartOpenIDCode(OpenIDCode):
    def __init__(self, server):
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce, request):
        return store.nonce_used(self.server.engine, request.payload.client_id, nonce)

    def resolve_client_private_key(self, client):
        return signing_key(self.server.settings).private

    def get_client_algorithm(self, client):
        return "RS256"

    def get_client_claims(self, client):
        return {"iss": issuer(self.server.settings), "aud": [client.get_client_id()],
                "exp": int(time.time()) + self.server.settings.access_token_ttl}

    def generate_user_info(self, user, scope):
        info = {"sub": str(user.user_id)}
        if "fhirUser" in scope.split():
            info["fhirUser"] = f"{fhir_base(self.server.settings)}/{user.fhir_user}"
        if "profile" in scope.split():
            info["name"] = user.display_name
        return info


class RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ALL_CLIENT_AUTH
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh returns a new refresh token

    def authenticate_refresh_token(self, refresh_token):
        token = store.by_refresh(self.server.engine, refresh_token)
        if token is not None and token.is_revoked() and token.code_hash:
            # A rotated-out (or revoked) refresh token presented again: it was copied, and either the
            # app or whoever copied it holds the live one; we cannot tell which, so the whole chain
            # from that authorization ends (RFC 9700 §4.14.2).
            store.revoke_chain(self.server.engine, token.code_hash)
        if token is None or token.is_revoked() or token.is_expired():
            return None
        return token

    def authenticate_user(self, refresh_token):
        t = refresh_token
        return _principal(self.server.engine, t.user_id, t.fhir_user, t.patient_id)

    def revoke_old_credential(self, refresh_token):
        if not store.revoke_token(self.server.engine, refresh_token.id):
            # Another request rotated this refresh token first: what this one issued is void too.
            store.revoke_jti(self.server.engine, self.request.issued_jti)
            raise InvalidGrantError("The refresh token was used already.")


class ClientCredentials(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


class PrivateKeyJWT(JWTBearerClientAssertion):
    """SMART's private_key_jwt (RFC 7523 client assertions): keys from the client's registered JWK
    Set or its jwks_uri; each assertion's jti is accepted once."""
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server):
        super().__init__(validate_jti=True, leeway=60)
        self.server = server

    def get_audiences(self):
        return [token_url(self.server.settings)]

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jose_jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as e:
            raise InvalidClientError(description=e.description) from e
        self.verify_claims(token.claims)
        claims = token.claims
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] > time.time() + 300:
            raise InvalidClientError(description="A client assertion must expire within 5 minutes.")
        return claims

    def validate_jti(self, claims, jti):
        expires = datetime.fromtimestamp(claims["exp"], timezone.utc).replace(tzinfo=None) + timedelta(minutes=2)
        return store.first_use_of_jti(self.server.engine, f"{claims['iss']}|{jti}", expires)

    def resolve_client_public_key(self, client):
        if client.jwks:
            return KeySet.import_key_set(client.jwks)
        if client.jwks_uri:
            try:
                resp = requests.get(client.jwks_uri, timeout=5)
                resp.raise_for_status()
                return KeySet.import_key_set(resp.json())
            except (requests.RequestException, ValueError, JoseError) as exc:
                raise InvalidClientError(description=f"The client's jwks_uri cannot be read: {exc}") from None
        raise InvalidClientError(description="The client has no registered keys.")


class _TokenLookup:
    """Find a presented token: our JWT access token by its jti, else a refresh token by its digest."""

    def query_token(self, token_string, token_type_hint):
        engine, settings = self.server.engine, self.server.settings
        if not isinstance(token_string, str):
            return None
        if token_string.count(".") == 2 and token_type_hint != "refresh_token":
            try:
                claims = pyjwt.decode(token_string, signing_key(settings).public_pem, algorithms=["RS256"],
                                      options={"verify_exp": False, "verify_aud": False})
            except pyjwt.InvalidTokenError:
                return None
            return store.by_jti(engine, claims.get("jti", ""))
        return store.by_refresh(engine, token_string)


class Revocation(_TokenLookup, RevocationEndpoint):
    CLIENT_AUTH_METHODS = ALL_CLIENT_AUTH

    def revoke_token(self, token, request):
        # One issuance holds both tokens: revoking either ends both (the access token shows inactive
        # at introspection at once, and expires within minutes at the resource side).
        store.revoke_token(self.server.engine, token.id)


class Introspection(_TokenLookup, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ALL_CLIENT_AUTH

    def check_permission(self, token, client, request):
        # An app may introspect its own tokens; a resource server needs the `introspect` scope.
        return token.client_id == client.get_client_id() or "introspect" in client.scope.split()

    def introspect_token(self, token):
        out = {"active": True, "client_id": token.client_id, "scope": token.scope,
               "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
               "iss": issuer(self.server.settings),
               "iat": int(token.issued_at.replace(tzinfo=timezone.utc).timestamp()),
               "exp": int(token.expires_at().replace(tzinfo=timezone.utc).timestamp())}
        out["sub"] = str(token.user_id) if token.user_id is not None else token.client_id
        if token.fhir_user:
            out["fhirUser"] = token.fhir_user
        if token.patient_id:
            out["patient"] = token.patient_id
        return out
