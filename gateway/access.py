"""Who is asking: the caller's identity and rights, built once per request.

Until tokens are verified (the auth issue), every caller is an open system
client. The repository asks this object, and only this object, what the
caller may do, so authentication and consent slot in here without touching
handlers.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Access:
    role: str = "system"  # system | practitioner | patient | related-person
    fhir_user: str | None = None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"system/*.cruds"}))
    client_id: str | None = None

    @classmethod
    def open(cls) -> "Access":
        return cls()

    def restrict(self, res_type: str):
        """SQL clause limiting what this caller may see of `res_type`; None is no limit."""
        return None
