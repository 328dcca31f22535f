"""doc -> FHIR -> doc, in the Bundle's urn:uuid form and as a server returns it."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from mappings import MappingError, bundle_to_network, fhir_to_network, load_network, network_to_fhir


def test_fixture_survives_the_round_trip_through_the_bundle(fixture_doc):
    assert bundle_to_network(network_to_fhir(fixture_doc)) == load_network(fixture_doc)


def test_fixture_survives_the_round_trip_through_a_server(fixture_doc, server):
    stored = server(network_to_fhir(fixture_doc), seed=3)
    assert all("urn:uuid" not in json.dumps(r) for r in stored)
    assert fhir_to_network(stored) == load_network(fixture_doc)


def test_round_trip_resolves_absolute_server_references(fixture_doc, server):
    stored = server(network_to_fhir(fixture_doc), seed=5, absolute=True)
    assert fhir_to_network(stored) == load_network(fixture_doc)


def test_minimal_network_survives_the_round_trip_with_every_optional_field(minimal_doc, server):
    minimal_doc["name"] = "Netwerk"
    minimal_doc["client"]["address"] = {"line": ["Dorpsstraat 1"], "postalCode": "1234 AB", "city": "Ergens"}
    minimal_doc["members"][0]["availability"] = [{"daysOfWeek": ["sat", "sun"]}]
    minimal_doc["members"][0]["availabilityNote"] = "Alleen in het weekend."
    minimal_doc["members"][2].update(uzi="901234567", big="12345678930", gender="female",
                                     availability=[{"daysOfWeek": ["mon"], "start": "08:00", "end": "12:00"}])
    minimal_doc["goals"][0].update(start="2026-01-01", due="2026-12-31")
    minimal_doc["agreements"][1].update(description="Elke ochtend.", period={"start": "2026-01-01", "end": "2026-12-31"},
                                        timing={"repeat": {"timeOfDay": ["08:00"], "duration": 45, "durationUnit": "min",
                                                           "frequency": 1, "period": 1, "periodUnit": "d"}})
    expected = load_network(minimal_doc)
    assert fhir_to_network(server(network_to_fhir(minimal_doc))) == expected


def test_old_role_codes_from_a_server_are_normalised_on_the_way_back(minimal_doc, server):
    stored = server(network_to_fhir(minimal_doc))
    for resource in stored:
        for concept in resource.get("relationship", []):
            for coding in concept["coding"]:
                coding["code"] = coding["code"].lstrip("0") if coding["code"] == "01" else coding["code"]
    assert fhir_to_network(stored)["members"][0]["roles"] == ["01", "100001"]


def test_every_produced_resource_validates_with_fhir_r4b(fixture_doc):
    bundle = network_to_fhir(fixture_doc)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    get_fhir_model_class("Bundle").model_validate(bundle)


def test_the_same_document_gives_the_same_bundle(fixture_doc):
    shuffled = copy.deepcopy(fixture_doc)
    for key in ("agreements", "goals", "logbook", "sharing", "organizations"):
        shuffled[key].reverse()
    assert json.dumps(network_to_fhir(fixture_doc)) == json.dumps(network_to_fhir(fixture_doc))
    assert network_to_fhir(shuffled) == network_to_fhir(fixture_doc)


CONDITIONAL = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\?identifier=(?P<system>[^|?&#\s]+)\|(?P<value>[A-Za-z0-9\-.]+)$")


def test_every_entry_is_a_well_formed_conditional_update_on_its_own_identifier(fixture_doc):
    bundle = network_to_fhir(fixture_doc)
    for entry in bundle["entry"]:
        assert entry["request"]["method"] == "PUT"
        match = CONDITIONAL.match(entry["request"]["url"])
        assert match, entry["request"]["url"]
        assert match["type"] == entry["resource"]["resourceType"]
        assert {"system": match["system"], "value": match["value"]} in entry["resource"]["identifier"]
        assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", entry["fullUrl"])


def test_full_urls_and_conditional_urls_are_unique_within_a_bundle(fixture_doc):
    entries = network_to_fhir(fixture_doc)["entry"]
    assert len({e["fullUrl"] for e in entries}) == len(entries)
    assert len({e["request"]["url"] for e in entries}) == len(entries)


def test_every_urn_reference_points_at_an_entry_of_the_bundle(fixture_doc):
    bundle = network_to_fhir(fixture_doc)
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    references = set(re.findall(r'"reference": "([^"]+)"', json.dumps(bundle)))
    assert references and references <= full_urls


def test_no_two_fixtures_share_a_conditional_key():
    # The demo server loads all fixtures: a shared key would make one network overwrite another.
    files = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "networks").glob("*.json"))
    assert len(files) >= 6
    owner: dict[str, str] = {}
    for path in files:
        for entry in network_to_fhir(json.loads(path.read_text(encoding="utf-8")))["entry"]:
            key = entry["request"]["url"]
            assert owner.setdefault(key, path.name) == path.name, f"{key} in {owner[key]} and {path.name}"


def test_unrelated_resources_in_the_input_are_ignored(fixture_named, server):
    a = network_to_fhir(fixture_named("a-dementie-dochter-en-buurman.json"))
    b = network_to_fhir(fixture_named("b-mentor-beheert-toestemming.json"))
    with pytest.raises(MappingError, match="one network CareTeam"):
        bundle_to_network({"entry": a["entry"] + b["entry"]})
    mixed = {"entry": a["entry"] + b["entry"]}
    assert bundle_to_network(mixed, "NW-Z-55120") == load_network(fixture_named("b-mentor-beheert-toestemming.json"))


def test_a_dangling_reference_is_a_mapping_error(minimal_doc, server):
    stored = [r for r in server(network_to_fhir(minimal_doc)) if r["resourceType"] != "Patient"]
    with pytest.raises(MappingError, match="does not resolve"):
        fhir_to_network(stored)
