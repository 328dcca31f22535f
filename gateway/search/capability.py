"""What search supports, per type, for the CapabilityStatement: read from the registry,
so it lists exactly what works."""
from __future__ import annotations

from .limits import documentation
from .registry import REGISTRY, SYSTEM, SearchParam

_DOCS = {
    "token": "system|code, |code, code, system|; modifiers :not, :text, :missing",
    "string": "starts-with, case- and accent-insensitive; modifiers :exact, :contains, :missing",
    "reference": "Type/id, id, absolute URL; modifiers :[type], :missing; chaining (.param) and _has",
    "date": "prefixes eq ne lt gt le ge sa eb ap on partial dates and periods; modifier :missing",
    "uri": "exact; modifiers :below, :missing",
}


def _entry(p: SearchParam) -> dict:
    doc = _DOCS[p.type]
    if p.column == "res_id":
        doc = "resource id; several ids separated by commas"
    elif p.column == "last_updated":
        doc = "prefixes eq ne lt gt le ge sa eb ap"
    return {"name": p.name, "type": p.type, "definition": p.definition,
            "documentation": p.documentation or doc}


def capability() -> dict[str, dict]:
    """Per type: searchParam, searchInclude, searchRevInclude; "*" is the system level, with
    the search rules and limits as `documentation` (for CapabilityStatement.rest.documentation)."""
    out: dict[str, dict] = {}
    for rtype, params in REGISTRY.items():
        refs = [p for p in params.values() if p.type == "reference"]
        out[rtype] = {
            "searchParam": [_entry(p) for p in params.values()],
            "searchInclude": ["*"] + [f"{rtype}:{p.name}" for p in refs],
            "searchRevInclude": sorted(
                f"{src}:{p.name}" for src, sparams in REGISTRY.items() for p in sparams.values()
                if p.type == "reference" and rtype in p.targets),
        }
    out["*"] = {"searchParam": [_entry(p) for p in SYSTEM.values()]
                # R4 defines no SearchParameter resource for _type, hence no definition.
                + [{"name": "_type", "type": "token",
                    "documentation": "resource types to search, separated by commas"}]}
    out["*"]["documentation"] = documentation()
    return out
