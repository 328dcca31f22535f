"""AuditEvents for disclosures and refusals, written in the request's own transaction.

Shape follows FHIR R4 AuditEvent as IHE BALP uses it for RESTful access: the
person (fhirUser) and the app acting for them (azp/client_id) are separate
agents; the patient whose data it is, the resources disclosed and the
Consent that decided are entities.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field

from . import fhirtime

_REST = {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
         "display": "RESTful Operation"}
_INTERACTION = "http://hl7.org/fhir/restful-interaction"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_ACTIONS = {"read": "R", "vread": "R", "search-type": "E", "search-system": "E", "history-instance": "R",
            "history-type": "R", "history-system": "R", "create": "C", "update": "U", "patch": "U",
            "delete": "D", "operation": "E"}
SUCCESS, REFUSED = "0", "4"


@dataclass
class Disclosure:
    """What one request showed (or refused to show) to a person, to be audited."""

    interaction: str  # a restful-interaction code: read, search-type, create, …
    outcome: str = SUCCESS
    patients: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)
    query: str | None = None
    detail: str | None = None


def audit_event(fhir_user: str, client_id: str | None, d: Disclosure, *, recorded: str | None = None) -> dict:
    agents = [{"type": {"coding": [{"system": _DCM, "code": "110153", "display": "Source Role ID"}]},
               "who": {"reference": fhir_user}, "requestor": True}]
    if client_id:
        agents.append({"type": {"coding": [{"system": _DCM, "code": "110150", "display": "Application"}]},
                       "who": {"display": client_id}, "altId": client_id, "requestor": False})
    entities = []
    for patient in d.patients:
        entities.append({"what": {"reference": patient},
                         "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
                         "role": {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"}})
    for ref in d.resources:
        entities.append({"what": {"reference": ref},
                         "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"}})
    for ref in d.consents:
        entities.append({"what": {"reference": ref}, "description": "the Consent that decided",
                         "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
                         "role": {"system": _OBJECT_ROLE, "code": "13", "display": "Security Resource"}})
    if d.query:
        entities.append({"type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
                         "role": {"system": _OBJECT_ROLE, "code": "24", "display": "Query"},
                         "query": base64.b64encode(d.query.encode()).decode()})
    event = {
        "resourceType": "AuditEvent",
        "type": _REST,
        "subtype": [{"system": _INTERACTION, "code": d.interaction}],
        "action": _ACTIONS.get(d.interaction, "E"),
        "recorded": recorded or fhirtime.instant(fhirtime.now()),
        "outcome": d.outcome,
        "agent": agents,
        "source": {"observer": {"display": "Samenzorg gateway"},
                   "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                             "code": "4", "display": "Application Server"}]},
    }
    if d.detail:
        event["outcomeDesc"] = d.detail
    if entities:
        event["entity"] = entities
    return event
