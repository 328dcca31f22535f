"""`Patient/{id}/$everything` (FHIR R4 operation Patient-everything), GET and POST.

Parameters (R4): `start`, `end` (dates: care dates, see search/everything.py CARE_DATE),
`_since` (instant: meta.lastUpdated at or after), `_type` (types to return, comma-separated
and/or repeated), `_count` (page size, as search: default 20, capped at 500). A page link
carries only a signed `_cursor`. Any other parameter, a malformed value or an unknown type is a
400: a filter is never silently dropped.
"""
from __future__ import annotations

import re

from ..errors import BadRequest
from ..fhirhttp import FhirRequest, FhirResponse
from ..fhirtime import parse_instant
from ..resource_types import SERVED
from ..search import paging
from ..search.everything import Everything, endpoint
from ..search.limits import DEFAULT_COUNT
from ..search.parse import Problem, capped_count
from ..search.values import date_range
from . import Context
from .operations import operation

DEFINITION = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
# The served types of the R4 Patient compartment, the Patient, and the directory entries the
# record points to. (Subscription is served but belongs to no patient's record.)
RECORD_TYPES = ("Patient", "RelatedPerson", "CareTeam", "CarePlan", "Goal", "Consent", "Communication",
                "AuditEvent", "Provenance", "Practitioner", "PractitionerRole", "Organization")
_NAMES = ("start", "end", "_since", "_type", "_count")
_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_VALUE_KEYS = ("valueDate", "valueInstant", "valueDateTime", "valueCode", "valueString", "valueInteger",
               "valueUnsignedInt", "valuePositiveInt")


def _body_params(body) -> list[tuple[str, str]]:
    """A Parameters body as (name, value) pairs, the shape of a query string."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest("Send a Parameters resource (or use GET).", expression="Parameters")
    parameters = body.get("parameter", [])
    if not isinstance(parameters, list):
        raise BadRequest("Parameters.parameter must be a list.", expression="Parameters.parameter")
    out = []
    for i, p in enumerate(parameters):
        where = f"Parameters.parameter[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise BadRequest("Each parameter is an object with a name.", expression=where)
        values = [p[k] for k in _VALUE_KEYS if k in p]
        if len(values) != 1 or isinstance(values[0], bool) or not isinstance(values[0], (str, int)):
            raise BadRequest(f"Parameter '{p['name']}' needs one simple value (valueDate, valueInstant, "
                             "valueCode, valueInteger …).", expression=where)
        out.append((p["name"], str(values[0])))
    return out


def _date(name: str, raw: str, *, upper: bool):
    """A FHIR date (YYYY, YYYY-MM, YYYY-MM-DD, Dutch local days) as an instant bound: its first
    instant for `start`, the first instant after it for `end` (so `end` is inclusive)."""
    rng = date_range(raw) if _DATE.fullmatch(raw) else None
    if rng is None:
        raise BadRequest(f"{name} must be a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD), not '{raw}'.",
                         expression=name)
    return rng[1] if upper else rng[0]


def parse(patient_id: str, params: list[tuple[str, str]]) -> Everything:
    """The operation's parameters, checked and normalised; BadRequest for anything wrong."""
    seen: dict[str, str] = {}
    types: list[str] = []
    applied: list[tuple[str, str]] = []
    for name, raw in params:
        if name in paging.TRANSPORT:
            continue
        if name not in _NAMES:
            raise BadRequest(f"$everything takes {', '.join(_NAMES)}; not '{name}'.", expression=name)
        if name == "_type":
            for t in (v.strip() for v in raw.split(",")):
                if t not in RECORD_TYPES:
                    listed = ", ".join(RECORD_TYPES)
                    what = "is not served here" if t not in SERVED else "belongs to no patient's record"
                    raise BadRequest(f"_type '{t}' {what}; $everything returns {listed}.", expression="_type")
                if t not in types:
                    types.append(t)
            continue
        if name in seen:
            raise BadRequest(f"Parameter '{name}' may be given once.", expression=name)
        seen[name] = raw
    start = _date("start", seen["start"], upper=False) if "start" in seen else None
    end = _date("end", seen["end"], upper=True) if "end" in seen else None
    if start is not None and end is not None and end <= start:
        raise BadRequest("end is before start.", expression="end")
    since = None
    if "_since" in seen:
        since = parse_instant(seen["_since"]) if _INSTANT.fullmatch(seen["_since"]) else None
        if since is None:
            raise BadRequest("_since must be a FHIR instant with a time zone, e.g. 2026-01-31T12:00:00Z.",
                             expression="_since")
    count = DEFAULT_COUNT
    if "_count" in seen:
        try:
            count = capped_count("_count", seen["_count"])
        except Problem as p:
            raise BadRequest(p.message, expression="_count") from None
    # Normalised, for `self` and the signed cursor: re-parsed on every page.
    for name in ("start", "end", "_since"):
        if name in seen:
            applied.append((name, seen[name]))
    if types:
        applied.append(("_type", ",".join(types)))
    applied.append(("_count", str(count)))
    return Everything(patient_id, tuple(types) or RECORD_TYPES, start, end, since, count, applied)


def _everything(ctx: Context, req: FhirRequest, params: list[tuple[str, str]]) -> FhirResponse:
    pid = req.params["id"]
    cursor = paging.from_request(ctx.page_key, params, endpoint(pid))
    if cursor is not None:
        if len(cursor.values) != 2 or not all(type(v) is int for v in cursor.values):
            raise BadRequest("The page link is not a $everything page link.", expression=(paging.PAGE,))
        params = cursor.params
    q = parse(pid, params)
    body = ctx.repo.everything(q, cursor=cursor, base_url=ctx.base_url, page_key=ctx.page_key)
    return FhirResponse(200, body)


@operation("GET", "instance", "everything", "Patient", definition=DEFINITION)
def everything_get(ctx: Context, req: FhirRequest) -> FhirResponse:
    return _everything(ctx, req, list(req.query))


@operation("POST", "instance", "everything", "Patient", definition=DEFINITION)
def everything_post(ctx: Context, req: FhirRequest) -> FhirResponse:
    params = list(req.query)
    if req.body is not None:
        params += _body_params(req.body)
    return _everything(ctx, req, params)
