"""Whatever arrives, load_network answers with a document or NetworkInvalid, never a crash;
and mappings stays pure."""
from __future__ import annotations

import ast
import copy
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import NetworkInvalid, load_network, network_to_fhir

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["M-1", "M-2", "A-1", "G-1", "client", "own-agreements", "01", "7", "2026-01-01"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from _paths(sub, (*prefix, i))


def _replace(doc, path, junk):
    if not path:
        return junk
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = junk
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_junk_anywhere_in_a_document_is_refused_cleanly_or_mapped(minimal_doc, data):
    doc = copy.deepcopy(minimal_doc)  # the fixture is shared by every example
    path = data.draw(st.sampled_from(list(_paths(doc))))
    doc = _replace(doc, path, data.draw(json_values))
    try:
        loaded = load_network(doc)
    except NetworkInvalid as exc:
        assert exc.problems and all(set(p) == {"path", "message"} for p in exc.problems)
        return
    network_to_fhir(loaded)


ALLOWED = {"marshmallow", "__future__"} | set(sys.stdlib_module_names)


def test_mappings_imports_nothing_but_the_standard_library_and_marshmallow():
    for path in (Path(__file__).resolve().parents[2] / "mappings").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED, f"{path.name} imports {name}"
