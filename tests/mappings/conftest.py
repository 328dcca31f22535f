"""Fixtures for the mapping tests: the demo networks, a minimal valid network,
and a simulated FHIR server that stores a transaction Bundle the way one does."""
from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

NETWORKS_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "networks"
FIXTURE_FILES = sorted(NETWORKS_DIR.glob("*.json"))


def read_fixture(name: str) -> dict:
    return json.loads((NETWORKS_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(params=FIXTURE_FILES, ids=lambda p: p.stem)
def fixture_doc(request) -> dict:
    return json.loads(request.param.read_text(encoding="utf-8"))


@pytest.fixture
def fixture_named():
    return read_fixture


def _minimal() -> dict:
    return {
        "source": {"system": "https://ecd.test.example/id"},
        "id": "NW-1",
        "client": {"id": "CL-1", "bsn": "999911120", "name": {"given": ["Anna"], "family": "de Vries"},
                   "birthDate": "1938-04-12", "gender": "female", "managingOrganization": "ORG-1"},
        "organizations": [{"id": "ORG-1", "name": "Thuiszorg Test", "agb": "75750001"},
                          {"id": "ORG-2", "name": "Vrijwilligerscentrale Test"}],
        "members": [
            {"id": "M-1", "kind": "informal", "name": {"given": ["Petra"], "family": "de Vries"},
             "relationship": "DAUC", "roles": ["01", "100001"]},
            {"id": "M-2", "kind": "informal", "name": {"given": ["Kees"], "family": "Bos"}, "roles": ["19"]},
            {"id": "M-3", "kind": "professional", "name": {"given": ["Sanne"], "family": "Smit"},
             "discipline": "wijkverpleegkundige", "agb": "90012345", "organization": "ORG-1", "roles": ["PRF"]},
            {"id": "M-4", "kind": "informal", "name": {"given": ["Lotte"], "family": "Kramer"},
             "roles": ["volunteer"], "organization": "ORG-2"},
            {"id": "M-5", "kind": "informal", "name": {"given": ["Jan"], "family": "Jansen"}, "roles": ["15"]},
        ],
        "agreements": [
            {"id": "A-1", "activity": "Boodschappen", "category": "shopping", "performers": ["M-2"],
             "timing": {"repeat": {"dayOfWeek": ["sat"], "timeOfDay": ["10:00"], "frequency": 1, "period": 1, "periodUnit": "wk"}}},
            {"id": "A-2", "activity": "Wassen", "category": "personal-care", "performers": ["M-3"], "goals": ["G-1"]},
        ],
        "goals": [{"id": "G-1", "description": "Veilig thuis wonen."}],
        "logbook": [{"id": "L-1", "author": "M-2", "time": "2026-11-14T12:40:00+01:00", "text": "Boodschappen gedaan.",
                     "agreement": "A-1"}],
        "sharing": [
            {"id": "S-1", "member": "M-1", "parts": ["care-team", "agreements", "goals", "logbook", "contribute-logbook"],
             "period": {"start": "2026-01-01"}, "decidedBy": "client", "recordedAt": "2026-01-01T10:00:00+01:00"},
            {"id": "S-2", "member": "M-2", "parts": ["own-agreements"], "period": {"start": "2026-01-01", "end": "2026-06-30"},
             "decidedBy": "M-5", "recordedAt": "2026-01-01T10:00:00+01:00", "recordedBy": "M-3"},
        ],
    }


@pytest.fixture
def minimal_doc() -> dict:
    """A small valid network; tests change one thing in it."""
    return copy.deepcopy(_minimal())


def _rewrite(value, mapping: dict):
    if isinstance(value, dict):
        return {k: (mapping.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, mapping))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


def store_like_a_server(bundle: dict, seed: int = 0, absolute: bool = False) -> list[dict]:
    """What a FHIR server returns after processing the transaction: server ids,
    urn:uuid references rewritten to Type/id, meta added, no fullUrls, and
    results in an order of its own."""
    rng = random.Random(seed)
    mapping, resources = {}, []
    for n, entry in enumerate(bundle["entry"]):
        rtype = entry["resource"]["resourceType"]
        mapping[entry["fullUrl"]] = f"{'https://fhir.example.nl/fhir/' if absolute and n % 2 else ''}{rtype}/{1000 + n}"
    for n, entry in enumerate(bundle["entry"]):
        res = _rewrite(copy.deepcopy(entry["resource"]), mapping)
        res["id"] = str(1000 + n)
        res["meta"] = {**res.get("meta", {}), "versionId": "1", "lastUpdated": "2026-11-23T09:00:00.000+00:00"}
        resources.append(res)
    rng.shuffle(resources)
    return resources


@pytest.fixture
def server():
    return store_like_a_server


def entries_of(bundle: dict, resource_type: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


@pytest.fixture
def of_type():
    return entries_of


@pytest.fixture
def by_ecd_id():
    def find(bundle: dict, ecd_id: str, resource_type: str | None = None) -> dict:
        for e in bundle["entry"]:
            res = e["resource"]
            if resource_type and res["resourceType"] != resource_type:
                continue
            if any(i["value"] == ecd_id for i in res.get("identifier", [])):
                return res
        raise KeyError(ecd_id)
    return find


@pytest.fixture
def url_of():
    def find(bundle: dict, resource: dict) -> str:
        return next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is resource)
    return find
