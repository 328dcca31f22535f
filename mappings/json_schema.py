"""JSON Schema (draft 2020-12) generated from the marshmallow schemas, so the
published schema cannot drift from what load_network accepts.

It checks the shape of a document; references between its parts (performers,
authors, sharing members) are checked only by load_network.
Regenerate the published file with
`python -c "from mappings.json_schema import write_published; write_published()"`.
"""
from __future__ import annotations

import json
from pathlib import Path

from marshmallow import Schema, fields, validate

from .network import CareNetworkSchema, RoleCode
from . import codes

PUBLISHED = Path(__file__).parent / "schema" / "care-network.schema.json"
SCHEMA_ID = "https://samenzorg.nl/schema/care-network.schema.json"


def care_network_json_schema() -> dict:
    defs: dict[str, dict] = {}
    root = _object(CareNetworkSchema, defs)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "CareNetwork", "description": "An informal-care network as exported by a record system (ECD).",
            **root, "$defs": dict(sorted(defs.items()))}


def _def_name(schema_cls: type[Schema]) -> str:
    return schema_cls.__name__.removesuffix("Schema")


def _object(schema_cls: type[Schema], defs: dict) -> dict:
    props, required = {}, []
    for name, field in schema_cls._declared_fields.items():
        props[name] = _field(field, defs)
        if field.required:
            required.append(name)
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _field(field: fields.Field, defs: dict) -> dict:
    if isinstance(field, RoleCode):
        out = {"type": "string", "enum": sorted({*codes.INFORMAL_ROLES, *codes.PROFESSIONAL_ROLES, *codes.LEGACY_ROLE_CODES})}
    elif isinstance(field, fields.Nested):
        cls = field.nested if isinstance(field.nested, type) else type(field.nested)
        name = _def_name(cls)
        if name not in defs:
            defs[name] = {}  # placeholder first: guards against recursion
            defs[name] = _object(cls, defs)
        out = {"$ref": f"#/$defs/{name}"}
    elif isinstance(field, fields.List):
        out = {"type": "array", "items": _field(field.inner, defs)}
    elif isinstance(field, fields.AwareDateTime):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(field, fields.Date):
        out = {"type": "string", "format": "date"}
    elif isinstance(field, fields.Time):
        out = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$"}
    elif isinstance(field, fields.Integer):
        out = {"type": "integer"}
    elif isinstance(field, fields.Float):
        out = {"type": "number"}
    elif isinstance(field, fields.String):
        out = {"type": "string"}
    else:
        raise TypeError(f"No JSON Schema for {type(field).__name__}")
    for v in field.validators:
        _constrain(out, v)
    description = field.metadata.get("description")
    if description and "$ref" not in out:
        out = {"description": description, **out}
    return out


def _constrain(out: dict, v) -> None:
    array = out.get("type") == "array"
    if isinstance(v, validate.OneOf):
        out["enum"] = list(v.choices)
    elif isinstance(v, validate.Regexp):
        out["pattern"] = v.regex.pattern
    elif isinstance(v, validate.Length):
        if v.min is not None:
            out["minItems" if array else "minLength"] = v.min
        if v.max is not None:
            out["maxItems" if array else "maxLength"] = v.max
    elif isinstance(v, validate.Range):
        if v.min is not None:
            out["minimum" if v.min_inclusive else "exclusiveMinimum"] = v.min
    elif getattr(v, "__name__", "") == "_unique":
        out["uniqueItems"] = True
    # Other validators (BSN 11-check, ...) have no JSON Schema equivalent.


def write_published() -> Path:
    PUBLISHED.parent.mkdir(exist_ok=True)
    PUBLISHED.write_text(json.dumps(care_network_json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return PUBLISHED
