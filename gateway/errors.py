"""Errors are values: code raises a FhirError, one function renders it.

Nothing else in the gateway builds an error response.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    severity: str  # fatal | error | warning | information
    code: str  # http://hl7.org/fhir/issue-type
    diagnostics: str
    expression: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            out["expression"] = list(self.expression)
        return out


class FhirError(Exception):
    status = 500
    code = "exception"

    def __init__(self, diagnostics: str, *, expression=(), issues: list[Issue] | None = None,
                 headers: dict | None = None):
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.headers = headers or {}
        if isinstance(expression, str):
            expression = (expression,)
        self.issues = issues or [Issue("error", self.code, diagnostics, tuple(expression))]


class BadRequest(FhirError):
    status, code = 400, "invalid"


class Unauthorized(FhirError):
    status, code = 401, "login"


class Forbidden(FhirError):
    status, code = 403, "forbidden"


class NotFound(FhirError):
    status, code = 404, "not-found"


class MethodNotAllowed(FhirError):
    status, code = 405, "not-supported"


class NotAcceptable(FhirError):
    status, code = 406, "not-supported"


class Conflict(FhirError):
    status, code = 409, "conflict"


class Gone(FhirError):
    status, code = 410, "deleted"


class PreconditionFailed(FhirError):
    status, code = 412, "conflict"


class UnsupportedMediaType(FhirError):
    status, code = 415, "not-supported"


class Unavailable(FhirError):
    """A transient failure (the database connection was lost): retry."""

    status, code = 503, "transient"


class Invalid(FhirError):
    """The resource parsed but does not conform: 422 Unprocessable Entity."""

    status, code = 422, "invalid"


def internal_error(request_id: str) -> FhirError:
    """An unexpected failure as the caller sees it: an id to quote, nothing of the cause (that is logged)."""
    diagnostics = f"Internal error; quote request id {request_id} to the operator."
    return FhirError(diagnostics, issues=[Issue("fatal", "exception", diagnostics)])


def outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


def information(diagnostics: str) -> dict:
    return outcome([Issue("information", "informational", diagnostics)])
