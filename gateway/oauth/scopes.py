"""Which of the scopes an app asks for it gets: never more than it is registered for, and each
grant type only its own contexts (system/ for client_credentials alone, never for a person)."""
from __future__ import annotations

from ..scopes import parse_scopes

# Scopes that are not about resources: granted only when the client is registered for them.
IDENTITY_SCOPES = ("openid", "fhirUser", "launch/patient", "offline_access")
DEFAULT_PERSON_SCOPES = "openid fhirUser launch/patient offline_access patient/*.rs user/*.rs"


def _covered(token: str, allowed: list[str]) -> bool:
    if token in allowed:
        return True
    wanted = parse_scopes(token)
    if len(wanted) != 1:
        return False  # not a resource scope (or one with a query this server does not enforce)
    w = wanted[0]
    return any(a.context == w.context and a.resource_type in ("*", w.resource_type)
               and w.permissions <= a.permissions for a in parse_scopes(" ".join(allowed)))


def allowed_scope(requested: str | None, registered: str) -> str | None:
    """The requested scopes the client is registered for, in the order asked; all it is registered
    for when it asks for none; None (invalid_scope) when it asked and none can be granted."""
    allowed = registered.split()
    if requested is None or not requested.strip():
        return " ".join(allowed)
    granted = [t for t in dict.fromkeys(requested.split()) if _covered(t, allowed)]
    return " ".join(granted) if granted else None


def for_grant(scope: str, grant_type: str) -> str:
    """system/ scopes only for client_credentials, and it gets nothing else (no person, no id_token)."""
    tokens = scope.split()
    if grant_type == "client_credentials":
        return " ".join(t for t in tokens if t.startswith("system/"))
    return " ".join(t for t in tokens if not t.startswith("system/"))


def for_identity(scope: str, fhir_type: str, patient_id: str | None) -> str:
    """A launch/patient scope needs a patient to launch with: a practitioner link has none here."""
    if patient_id is None:
        return " ".join(t for t in scope.split() if t != "launch/patient" and not t.startswith("patient/"))
    return scope


def wants_refresh(scope: str) -> bool:
    return "offline_access" in scope.split()
