"""The discovery documents: /.well-known/smart-configuration (at the root and under /fhir) and
/.well-known/openid-configuration. Each lists only what this server does."""
from __future__ import annotations

from ..config import Settings
from .urls import endpoint, fhir_base, issuer

SCOPES_SUPPORTED = ["openid", "fhirUser", "launch/patient", "offline_access",
                    "patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds", "system/*.rs", "system/*.cruds",
                    "patient/*.read", "user/*.read", "system/*.read"]
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


def smart_configuration(settings: Settings) -> dict:
    config = {
        "issuer": issuer(settings),
        "jwks_uri": endpoint(settings, "jwks"),
        "authorization_endpoint": endpoint(settings, "authorize"),
        "token_endpoint": endpoint(settings, "token"),
        "revocation_endpoint": endpoint(settings, "revoke"),
        "introspection_endpoint": endpoint(settings, "introspect"),
        "management_endpoint": endpoint(settings, "apps"),
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384", "RS256", "ES256"],
        "scopes_supported": SCOPES_SUPPORTED,
        "capabilities": [
            "launch-standalone", "client-public", "client-confidential-symmetric",
            "client-confidential-asymmetric", "context-standalone-patient", "sso-openid-connect",
            "permission-offline", "permission-patient", "permission-user", "permission-v1", "permission-v2",
        ],
    }
    return config


def openid_configuration(settings: Settings) -> dict:
    return {
        "issuer": issuer(settings),
        "authorization_endpoint": endpoint(settings, "authorize"),
        "token_endpoint": endpoint(settings, "token"),
        "jwks_uri": endpoint(settings, "jwks"),
        "revocation_endpoint": endpoint(settings, "revoke"),
        "introspection_endpoint": endpoint(settings, "introspect"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "fhirUser", "profile", "launch/patient", "offline_access"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "fhirUser", "name"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "fhir_base": fhir_base(settings),
    }
