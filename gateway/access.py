"""Who is asking: the caller's identity and rights, built once per request.

The repository asks this object, and only this object, what the caller may
do; handlers never check roles themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import Forbidden
from .scopes import Scope, granted, parse_scopes

# Disclosures to these callers are audited (DESIGN.md).
AUDITED_ROLES = frozenset({"related-person", "practitioner"})

_NAMES = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


@dataclass(frozen=True)
class Access:
    role: str = "system"  # system | practitioner | patient | related-person
    fhir_user: str | None = None
    scopes: tuple[Scope, ...] = parse_scopes("system/*.cruds")
    client_id: str | None = None
    subject: str | None = None
    launch_patient: str | None = None  # the `patient` claim: SMART launch context for patient/ scopes

    @property
    def user_id(self) -> str | None:
        """The id part of fhirUser ("RelatedPerson/12" -> "12"); fhirUser is checked to be
        `Type/id` of this server when the token is read (auth.py)."""
        return self.fhir_user.partition("/")[2] if self.fhir_user else None

    @classmethod
    def open(cls) -> "Access":
        """Full system access: for the CLI and internal loading, never for a request."""
        return cls()

    @classmethod
    def anonymous(cls) -> "Access":
        """No identity and no scopes: what public endpoints (metadata) run as."""
        return cls(role="anonymous", scopes=())

    def allows(self, permission: str, resource_type: str) -> bool:
        return granted(self.scopes, permission, resource_type)

    def require(self, permission: str, resource_type: str) -> None:
        if not self.allows(permission, resource_type):
            raise Forbidden(f"The token's scopes do not allow {_NAMES[permission]} on {resource_type}.")
