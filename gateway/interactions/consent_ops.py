"""Explaining consent: `Consent/$evaluate` and `Patient/{id}/$access-preview`.

Both answer "what may this carer see?" for the people who decide it: the
client, their legal representative, a practitioner of their care team, or a
system client. The answers come from the same Policy and SQL filter that
guard every read, so the preview is what the carer will really get.
"""
from __future__ import annotations

import orjson
import consent

from ..access import Access
from ..errors import BadRequest, NotFound
from ..fhirhttp import FhirRequest, FhirResponse
from ..policy import patient_of
from ..repository import Repository
from ..resource_types import SERVED_TYPES
from ..scopes import READ, parse_scopes
from . import Context
from .operations import operation

_ACTIONS = {"access": consent.ACCESS, "contribute": consent.CONTRIBUTE}
PREVIEW_IDS = 100  # ids listed per type; the count is always complete


def _params(req: FhirRequest) -> dict[str, list]:
    """Parameters from a Parameters body and/or the query string, by name."""
    out: dict[str, list] = {}
    body = req.body
    if body is not None:
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise BadRequest("Send a Parameters resource.", expression="Parameters")
        parameters = body.get("parameter", [])
        if not isinstance(parameters, list):
            raise BadRequest("Parameters.parameter must be a list.", expression="Parameters.parameter")
        for i, p in enumerate(parameters):
            if not isinstance(p, dict) or not isinstance(p.get("name"), str):
                raise BadRequest("Each parameter is an object with a name.",
                                 expression=f"Parameters.parameter[{i}]")
            value = next((v for k, v in p.items() if k.startswith("value") or k == "resource"), None)
            out.setdefault(p["name"], []).append(value)
    for k, v in req.query:
        out.setdefault(k, []).append(v)
    return out


def _one(params: dict, name: str, required: bool = True):
    values = params.get(name) or []
    if len(values) > 1:
        raise BadRequest(f"Parameter '{name}' may be given once.", expression=name)
    if not values:
        if required:
            raise BadRequest(f"Parameter '{name}' is required.", expression=name)
        return None
    value = values[0]
    return value.get("reference") if isinstance(value, dict) and "reference" in value else value


def _carer(ctx: Context, actor: str, self_allowed: bool = False) -> Repository:
    """The repository as the actor would have it (what they may see, under the client's Consent),
    checked to be one the caller may look into (or, where `self_allowed`, the caller themselves)."""
    # Both operations explain the client's Consent and show what it lets a carer see: they need
    # the right to read Consents, whatever the caller's role.
    ctx.repo.require(READ, "Consent")
    if not isinstance(actor, str) or not actor.startswith("RelatedPerson/"):
        raise BadRequest("actor must be a RelatedPerson reference, e.g. RelatedPerson/123.", expression="actor")
    caller = ctx.repo.policy
    as_carer = Repository(ctx.repo.conn, Access(role="related-person", fhir_user=actor,
                                                scopes=parse_scopes("user/*.rs")))
    target = as_carer.policy
    if (target.related_person is None or target.carer_patient is None) and caller.unrestricted:
        raise NotFound(f"{actor} is not a known, active member of a client's network.")
    asks_for_self = self_allowed and actor == ctx.repo.access.fhir_user
    if target.carer_patient is None or not (asks_for_self or caller.may_manage_consent_for({target.carer_patient})):
        raise ctx.repo.refuse("Only the client, their legal representative, a practitioner of their care "
                              "team or a system client may ask what a carer may see.")
    return as_carer


@operation("POST", "type", "evaluate", "Consent")
def evaluate(ctx: Context, req: FhirRequest) -> FhirResponse:
    params = _params(req)
    actor = _one(params, "actor")
    target = _carer(ctx, actor, self_allowed=True).policy
    action_code = _one(params, "action", required=False) or "access"
    if isinstance(action_code, dict):  # valueCoding
        action_code = action_code.get("code")
    if not isinstance(action_code, str) or action_code not in _ACTIONS:
        raise BadRequest("action is 'access' (read) or 'contribute' (add to the logbook).", expression="action")
    resource = _one(params, "resource")
    if isinstance(resource, str):
        rtype, _, rid = resource.partition("/")
        resource = orjson.loads(ctx.repo.read(rtype, rid).body)
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise BadRequest("resource is a reference to a stored resource or a resource.", expression="resource")
    decision = target.decide(resource, _ACTIONS[action_code])
    outside = patient_of(resource) not in (target.carer_patient, None)
    verdict = "deny" if outside else decision.verdict
    if actor == ctx.repo.access.fhir_user and not target.may_manage_consent_for({target.carer_patient}):
        # A carer asking about themselves (a portal: "may I add to this logbook?") learns the
        # verdict only; the reasons would describe the client's Consents, which they may not read.
        # Each verdict still tells something of those Consents, so it is recorded like any disclosure.
        ctx.repo.disclosed_for("operation", _consent_refs(target), target.carer_patient)
        return FhirResponse(200, orjson.dumps({"resourceType": "Parameters",
                                               "parameter": [{"name": "decision", "valueCode": verdict}]}))
    parts = [{"name": "decision", "valueCode": verdict},
             {"name": "reason", "valueString": "The resource is not part of this client's record."
              if outside else decision.reason}]
    if decision.consent and not outside:
        parts.append({"name": "consent", "valueReference": {"reference": decision.consent}})
    if decision.provision and not outside:
        parts.append({"name": "provision", "valueString": decision.provision})
    # What in the client's Consents the engine could not read, and how it read it.
    parts += [{"name": "notUnderstood", "valueString": line} for line in decision.not_understood]
    parts += [{"name": "explanation", "valueString": line}
              for line in consent.explain(target.consents, target.request(_ACTIONS[action_code]), resource)]
    # The answer shows what the client's Consents say: a disclosure of them, recorded like any other.
    ctx.repo.disclosed_for("operation", _consent_refs(target), target.carer_patient)
    return FhirResponse(200, orjson.dumps({"resourceType": "Parameters", "parameter": parts}))


def _consent_refs(target) -> list[str]:
    return [f"Consent/{c['id']}" for c in target.consents if "id" in c]


def _propose(target, proposed, patient: str) -> None:
    """Preview as if `proposed` were stored: it replaces the stored Consent with its id (or joins
    them, without one). Nothing is written; the same engine and SQL filter then judge it."""
    if not isinstance(proposed, dict) or proposed.get("resourceType") != "Consent":
        raise BadRequest("consent is a Consent resource (the change to preview).", expression="consent")
    if ((proposed.get("patient") or {}).get("reference")) != patient:
        raise BadRequest(f"The proposed Consent must be about {patient}.", expression="consent")
    pid = proposed.get("id")
    if pid is not None and not any(c.get("id") == pid for c in target.consents):
        raise BadRequest(f"Consent/{pid} is not a Consent of {patient}.", expression="consent")
    target.propose([c for c in target.consents if pid is None or c.get("id") != pid] + [proposed])
    target._restrictions.clear()


@operation("GET", "instance", "access-preview", "Patient")
@operation("POST", "instance", "access-preview", "Patient")
def access_preview(ctx: Context, req: FhirRequest) -> FhirResponse:
    """What a carer sees of the client's record now — or, with a `consent` parameter (POST), what
    they would see once that Consent is saved ("Bekijk als" before saving)."""
    params = _params(req)
    carer = _carer(ctx, _one(params, "actor"))
    target = carer.policy
    if target.carer_patient != f"Patient/{req.params['id']}":
        raise BadRequest(f"{_one(params, 'actor')} is not in the network of Patient/{req.params['id']}.",
                         expression="actor")
    proposed = _one(params, "consent", required=False)
    if proposed is not None:
        _propose(target, proposed, target.carer_patient)
    shown: list[str] = []
    parts = [{"name": "actor", "valueReference": {"reference": target.access.fhir_user}},
             {"name": "legalRepresentative", "valueBoolean": target.is_representative}]
    for rtype in SERVED_TYPES:
        if rtype == "Subscription":  # the carer's own, in no client's record: not the client's to see
            continue
        count, ids = carer.preview(rtype, PREVIEW_IDS)
        if not count:
            continue
        shown += [f"{rtype}/{i}" for i in ids]
        parts.append({"name": "type", "part": [
            {"name": "type", "valueCode": rtype}, {"name": "count", "valueInteger": count},
            *({"name": "resource", "valueReference": {"reference": f"{rtype}/{i}"}} for i in ids)]})
    ctx.repo.disclosed_for("operation", shown, target.carer_patient)
    return FhirResponse(200, orjson.dumps({"resourceType": "Parameters", "parameter": parts}))
