"""The resource types this gateway serves, and the rules for their ids."""
import re

SERVED_TYPES = (
    "Patient",
    "RelatedPerson",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "CareTeam",
    "CarePlan",
    "Goal",
    "Consent",
    "Communication",
    "AuditEvent",
    "Provenance",
    "Subscription",
)
SERVED = frozenset(SERVED_TYPES)

# http://hl7.org/fhir/R4/datatypes.html#id
ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def valid_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None
