"""The published JSON Schema is what the generator makes from the marshmallow schemas,
and every fixture satisfies it."""
from __future__ import annotations

import json
import re

from mappings import care_network_json_schema
from mappings.json_schema import PUBLISHED
from mappings.network import CareNetworkSchema


def test_published_schema_matches_the_generator():
    # Regenerate with: python -c "from mappings.json_schema import write_published; write_published()"
    assert json.loads(PUBLISHED.read_text(encoding="utf-8")) == care_network_json_schema()


def test_schema_names_every_top_level_field_and_refuses_others():
    schema = care_network_json_schema()
    assert list(schema["properties"]) == list(CareNetworkSchema._declared_fields)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"source", "id", "client"}


def test_schema_accepts_old_role_codes_that_load_network_normalises():
    roles = care_network_json_schema()["$defs"]["Member"]["properties"]["roles"]["items"]["enum"]
    assert {"7", "07", "100001", "written-authorisation", "RESP"} <= set(roles)


def _problems(value, schema: dict, root: dict, path: str = "$") -> list[str]:
    """Just enough JSON Schema for what our generator emits (no jsonschema dependency)."""
    if "$ref" in schema:
        return _problems(value, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root, path)
    kind = schema.get("type")
    python = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float)}
    if kind and not isinstance(value, python[kind]):
        return [f"{path}: not {kind}"]
    out = []
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in enum")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        out.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if kind == "object":
        out += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        for key, sub in value.items():
            if key not in schema["properties"]:
                out.append(f"{path}.{key}: not allowed")
            else:
                out += _problems(sub, schema["properties"][key], root, f"{path}.{key}")
    if kind == "array":
        for i, item in enumerate(value):
            out += _problems(item, schema["items"], root, f"{path}[{i}]")
    return out


def test_every_fixture_satisfies_the_published_schema(fixture_doc):
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert _problems(fixture_doc, schema, schema) == []


def test_the_schema_check_in_these_tests_does_find_problems(minimal_doc):
    schema = care_network_json_schema()
    minimal_doc["members"][0]["relationship"] = "NBOR"
    minimal_doc["members"][1]["shoeSize"] = 44
    assert _problems(minimal_doc, schema, schema) == [
        "$.members[0].relationship: 'NBOR' not in enum", "$.members[1].shoeSize: not allowed"]
