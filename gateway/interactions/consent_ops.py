"""Explaining consent: `Consent/$evaluate` and `Patient/{id}/$access-preview`.

Both answer "what may this carer see?" for the people who decide it: the
client, their legal representative, a practitioner of their care team, or a
system client. The answers come from the same Policy and SQL filter that
guard every read, so the preview is what the carer will really get.
"""
from __future__ import annotations

import orjson
from sqlalchemy import func, select

import consent

from ..access import Access
from ..errors import BadRequest, Forbidden, NotFound
from ..fhirhttp import FhirRequest, FhirResponse
from ..policy import Policy, patient_of
from ..resource_types import SERVED_TYPES
from ..storage.tables import resources
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
        for p in body.get("parameter") or []:
            value = next((v for k, v in p.items() if k.startswith("value") or k == "resource"), None)
            out.setdefault(p.get("name"), []).append(value)
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


def _carer_policy(ctx: Context, actor: str) -> Policy:
    """The Policy the actor would have, checked to be one the caller may look into."""
    if not isinstance(actor, str) or not actor.startswith("RelatedPerson/"):
        raise BadRequest("actor must be a RelatedPerson reference, e.g. RelatedPerson/123.", expression="actor")
    caller = ctx.repo.policy
    target = Policy(ctx.repo.conn, Access(role="related-person", fhir_user=actor, scopes=()), caller.now)
    if target.related_person is None or target.carer_patient is None:
        if caller.unrestricted:
            raise NotFound(f"{actor} is not a known, active member of a client's network.")
    if target.carer_patient is None or not caller.may_manage_consent_for({target.carer_patient}):
        raise Forbidden("Only the client, their legal representative, a practitioner of their care team "
                        "or a system client may ask what a carer may see.")
    return target


@operation("POST", "type", "evaluate", "Consent")
def evaluate(ctx: Context, req: FhirRequest) -> FhirResponse:
    params = _params(req)
    target = _carer_policy(ctx, _one(params, "actor"))
    action_code = _one(params, "action", required=False) or "access"
    if isinstance(action_code, dict):  # valueCoding
        action_code = action_code.get("code")
    if action_code not in _ACTIONS:
        raise BadRequest("action is 'access' (read) or 'contribute' (add to the logbook).", expression="action")
    resource = _one(params, "resource")
    if isinstance(resource, str):
        rtype, _, rid = resource.partition("/")
        resource = orjson.loads(ctx.repo.read(rtype, rid).body)
    if not isinstance(resource, dict) or "resourceType" not in resource:
        raise BadRequest("resource is a reference to a stored resource or a resource.", expression="resource")
    decision = target.decide(resource, _ACTIONS[action_code])
    outside = patient_of(resource) not in (target.carer_patient, None)
    verdict = "deny" if outside else decision.verdict
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
    return FhirResponse(200, orjson.dumps({"resourceType": "Parameters", "parameter": parts}))


@operation("GET", "instance", "access-preview", "Patient")
def access_preview(ctx: Context, req: FhirRequest) -> FhirResponse:
    params = _params(req)
    target = _carer_policy(ctx, _one(params, "actor"))
    if target.carer_patient != f"Patient/{req.params['id']}":
        raise BadRequest(f"{_one(params, 'actor')} is not in the network of Patient/{req.params['id']}.",
                         expression="actor")
    shown: list[str] = []
    parts = [{"name": "actor", "valueReference": {"reference": target.access.fhir_user}},
             {"name": "legalRepresentative", "valueBoolean": target.is_representative}]
    for rtype in SERVED_TYPES:
        clause = target.restrict(rtype)
        where = [resources.c.res_type == rtype, resources.c.deleted.is_(False)]
        if clause is not None:
            where.append(clause)
        count = ctx.repo.conn.execute(select(func.count()).select_from(resources).where(*where)).scalar_one()
        if not count:
            continue
        ids = list(ctx.repo.conn.execute(select(resources.c.res_id).where(*where)
                                         .order_by(resources.c.rid).limit(PREVIEW_IDS)).scalars())
        shown += [f"{rtype}/{i}" for i in ids]
        parts.append({"name": "type", "part": [
            {"name": "type", "valueCode": rtype}, {"name": "count", "valueInteger": count},
            *({"name": "resource", "valueReference": {"reference": f"{rtype}/{i}"}} for i in ids)]})
    ctx.repo.disclosed_for("operation", shown, target.carer_patient)
    return FhirResponse(200, orjson.dumps({"resourceType": "Parameters", "parameter": parts}))
