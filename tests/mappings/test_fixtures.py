"""The demo networks show what the brief asks of them."""
from __future__ import annotations

import json
from pathlib import Path

from mappings import load_network

FILES = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "networks").glob("*.json"))


def test_there_are_at_least_six_demo_networks():
    assert len(FILES) >= 6


def test_every_network_has_a_district_nurse_or_gp_agreements_with_timing_goals_and_logbook(fixture_doc):
    doc = load_network(fixture_doc)
    disciplines = {m.get("discipline") for m in doc["members"] if m["kind"] == "professional"}
    assert disciplines & {"wijkverpleegkundige", "huisarts", "casemanager-dementie"}
    assert sum(1 for a in doc["agreements"] if "timing" in a) >= 2
    assert doc["goals"] and len(doc["logbook"]) >= 2


def test_clients_have_distinct_bsns_across_networks():
    bsns = [json.loads(p.read_text(encoding="utf-8"))["client"]["bsn"] for p in FILES]
    assert len(set(bsns)) == len(bsns)


def test_in_network_a_the_neighbour_sees_only_his_own_agreements_and_the_daughter_everything(fixture_named):
    doc = load_network(fixture_named("a-dementie-dochter-en-buurman.json"))
    by_member = {s["member"]: s["parts"] for s in doc["sharing"]}
    neighbour = next(m["id"] for m in doc["members"] if "19" in m["roles"])
    daughter = next(m["id"] for m in doc["members"] if m.get("relationship") == "DAUC")
    assert by_member[neighbour] == ["own-agreements"]
    assert by_member[daughter] == ["care-team", "agreements", "goals", "logbook", "contribute-logbook"]
    assert any(a["timing"]["repeat"].get("dayOfWeek") == ["sat"] for a in doc["agreements"] if neighbour in a["performers"])


def test_network_d_has_a_volunteer_from_a_volunteer_organisation_and_a_caring_spouse(fixture_named):
    doc = load_network(fixture_named("d-echtpaar-met-vrijwilliger.json"))
    assert any("volunteer" in m["roles"] and m.get("organization") for m in doc["members"])
    assert any(m.get("relationship") in ("WIFE", "HUSB") and "100001" in m["roles"] for m in doc["members"])


def test_network_e_is_large(fixture_named):
    assert len(fixture_named("e-groot-netwerk.json")["members"]) >= 20
