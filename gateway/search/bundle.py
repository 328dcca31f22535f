"""The searchset Bundle, assembled around the stored resource bytes.

Stored bodies are spliced in as `orjson.Fragment`s: never parsed, never
re-encoded (DESIGN: serve stored bytes on read). Only `_summary` and
`_elements` need to look inside a resource; they parse it, keep the asked-for
elements and mark it SUBSETTED, as the spec requires for any subsetted view.
"""
from __future__ import annotations

import uuid
from functools import lru_cache
from urllib.parse import urlencode

import orjson

from .. import fhirtime
from ..errors import Issue, outcome

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
             "display": "Resource encoded in summary mode"}
ALWAYS = ("resourceType", "id", "meta")


@lru_cache(maxsize=None)
def _elements_of(res_type: str) -> tuple[frozenset[str], frozenset[str]]:
    """(summary elements, mandatory elements) of a type, read once from the R4B models'
    element metadata: the same source validation uses, so no hand-kept lists."""
    from fhir.resources.R4B import get_fhir_model_class

    model = get_fhir_model_class(res_type)
    summary, mandatory = set(), set()
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        alias = field.alias or name
        if not extra.get("element_property"):
            continue
        if extra.get("summary_element_property"):
            summary.add(alias)
        if extra.get("element_required") or field.is_required():
            mandatory.add(alias)
    return frozenset(summary), frozenset(mandatory)


def _keep(resource: dict, names) -> dict:
    # A primitive's extensions travel in "_name" beside it.
    return {k: v for k, v in resource.items() if k in names or (k.startswith("_") and k[1:] in names)}


def subset(body: bytes, summary: str | None, elements: tuple[str, ...]) -> bytes | orjson.Fragment:
    """The stored bytes, or a trimmed and SUBSETTED-tagged copy for _summary/_elements."""
    if summary in (None, "false") and not elements:
        return orjson.Fragment(body)
    resource = orjson.loads(body)
    res_type = resource.get("resourceType", "")
    try:
        summary_set, mandatory = _elements_of(res_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        summary_set, mandatory = frozenset(), frozenset()
    if summary == "true":
        kept = _keep(resource, set(ALWAYS) | summary_set | mandatory)
    elif summary == "text":
        kept = _keep(resource, set(ALWAYS) | {"text"} | mandatory)
    elif summary == "data":
        kept = {k: v for k, v in resource.items() if k != "text"}
    else:  # _elements: what was asked, plus what a reader cannot do without
        kept = _keep(resource, set(ALWAYS) | set(elements) | mandatory)
    meta = dict(kept.get("meta") or {})
    tags = [t for t in meta.get("tag") or [] if not (isinstance(t, dict) and t.get("code") == "SUBSETTED")]
    meta["tag"] = tags + [SUBSETTED]
    kept["meta"] = meta
    return orjson.Fragment(orjson.dumps(kept))


def page_url(base_url: str, res_type: str | None, params: list[tuple[str, str]]) -> str:
    path = f"{base_url}/{res_type}" if res_type else base_url
    return f"{path}?{urlencode(params)}" if params else path


def searchset(*, base_url: str, total: int | None, links: dict[str, str], matches: list, includes: list,
              problems: list[Issue], summary: str | None, elements: tuple[str, ...]) -> bytes:
    entries = []
    if problems:
        entries.append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": outcome(problems),
                        "search": {"mode": "outcome"}})
    for rows, mode in ((matches, "match"), (includes, "include")):
        for row in rows:
            # _summary/_elements shape the matches; included resources are
            # there to be resolved, so they come whole (as HAPI does).
            shaped = subset(row.body, summary, elements) if mode == "match" else orjson.Fragment(row.body)
            entries.append({"fullUrl": f"{base_url}/{row.res_type}/{row.res_id}", "resource": shaped,
                            "search": {"mode": mode}})
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": fhirtime.instant(fhirtime.now())},
        "type": "searchset",
    }
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": rel, "url": url} for rel, url in links.items()]
    if entries:
        bundle["entry"] = entries
    return orjson.dumps(bundle)
