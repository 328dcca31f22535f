"""load_network: canonical form for good documents, every problem for bad ones."""
from __future__ import annotations

import pytest

from mappings import NetworkInvalid, load_network
from mappings.network import bsn_passes_eleven_check


def problems_of(doc) -> list[dict]:
    with pytest.raises(NetworkInvalid) as info:
        load_network(doc)
    return info.value.problems


def paths_of(doc) -> set[str]:
    return {p["path"] for p in problems_of(doc)}


def message_at(doc, path: str) -> str:
    return " | ".join(p["message"] for p in problems_of(doc) if p["path"] == path)


# --- good documents ---

def test_every_fixture_is_a_valid_network(fixture_doc):
    assert load_network(fixture_doc)["id"] == fixture_doc["id"]


def test_loading_a_loaded_document_changes_nothing(fixture_doc):
    once = load_network(fixture_doc)
    assert load_network(once) == once


def test_defaults_are_filled_in(minimal_doc):
    doc = load_network(minimal_doc)
    assert doc["status"] == "active"
    assert doc["agreements"][0]["status"] == "active"
    assert doc["goals"][0]["lifecycleStatus"] == "active"
    assert doc["logbook"][0]["topic"] == "other"
    assert doc["sharing"][0]["status"] == "active"
    assert doc["members"][1]["telecom"] == []


def test_old_role_code_7_is_normalised_to_07(minimal_doc):
    minimal_doc["members"][0]["roles"] = ["7", "100001"]
    assert load_network(minimal_doc)["members"][0]["roles"] == ["07", "100001"]


@pytest.mark.parametrize("old, new", [(str(n), f"0{n}") for n in (1, 2, 3, 4, 5, 6, 9)])
def test_every_single_digit_cod472_code_gains_its_leading_zero(minimal_doc, old, new):
    minimal_doc["members"][1]["roles"] = [old]
    assert load_network(minimal_doc)["members"][1]["roles"] == [new]


def test_times_of_day_are_written_with_seconds(minimal_doc):
    doc = load_network(minimal_doc)
    assert doc["agreements"][0]["timing"]["repeat"]["timeOfDay"] == ["10:00:00"]


def test_lists_are_sorted_by_id_but_members_keep_their_order(minimal_doc):
    minimal_doc["goals"].insert(0, {"id": "G-2", "description": "Later goal."})
    minimal_doc["members"].reverse()
    doc = load_network(minimal_doc)
    assert [g["id"] for g in doc["goals"]] == ["G-1", "G-2"]
    assert [m["id"] for m in doc["members"]] == ["M-5", "M-4", "M-3", "M-2", "M-1"]


def test_sharing_parts_come_out_in_one_fixed_order(minimal_doc):
    minimal_doc["sharing"][0]["parts"] = ["logbook", "care-team", "goals"]
    assert load_network(minimal_doc)["sharing"][0]["parts"] == ["care-team", "goals", "logbook"]


def test_known_valid_bsn_passes_and_a_changed_digit_fails_the_eleven_check():
    assert bsn_passes_eleven_check("999911120")
    assert not bsn_passes_eleven_check("999911121")
    assert not bsn_passes_eleven_check("000000000")


# --- bad documents: each refused with a path to the problem ---

def test_a_document_that_is_not_an_object_is_refused():
    assert problems_of([1, 2]) == [{"path": "$", "message": "A care-network document is a JSON object."}]


def test_unknown_role_code_is_refused_at_its_path(minimal_doc):
    minimal_doc["members"][2]["roles"] = ["PRF", "99"]
    assert "Unknown role code '99'" in message_at(minimal_doc, "members[2].roles[1]")


def test_professional_role_on_an_informal_member_is_refused(minimal_doc):
    minimal_doc["members"][0]["roles"] = ["RESP"]
    assert "not a role for a informal member" in message_at(minimal_doc, "members[0].roles[0]")


def test_unknown_relationship_code_is_refused(minimal_doc):
    minimal_doc["members"][1]["relationship"] = "NBOR"  # not in the zib RelatieCodelijst
    assert paths_of(minimal_doc) == {"members[1].relationship"}


def test_agreement_performer_that_is_not_a_member_is_refused(minimal_doc):
    minimal_doc["agreements"][0]["performers"] = ["M-2", "M-99"]
    assert "'M-99' is not a member" in message_at(minimal_doc, "agreements[0].performers[1]")


def test_agreement_goal_that_does_not_exist_is_refused(minimal_doc):
    minimal_doc["agreements"][1]["goals"] = ["G-9"]
    assert paths_of(minimal_doc) == {"agreements[1].goals[0]"}


def test_logbook_author_that_is_not_a_member_is_refused(minimal_doc):
    minimal_doc["logbook"][0]["author"] = "M-42"
    assert "neither the client nor a member" in message_at(minimal_doc, "logbook[0].author")


def test_the_client_may_write_in_the_logbook(minimal_doc):
    minimal_doc["logbook"][0]["author"] = "client"
    assert load_network(minimal_doc)["logbook"][0]["author"] == "client"


def test_logbook_entry_about_an_unknown_agreement_is_refused(minimal_doc):
    minimal_doc["logbook"][0]["agreement"] = "A-404"
    assert paths_of(minimal_doc) == {"logbook[0].agreement"}


def test_sharing_choice_for_an_unknown_member_is_refused(minimal_doc):
    minimal_doc["sharing"][0]["member"] = "M-77"
    assert "'M-77' is not a member" in message_at(minimal_doc, "sharing[0].member")


def test_sharing_choice_for_a_professional_is_refused(minimal_doc):
    minimal_doc["sharing"][0]["member"] = "M-3"
    assert "informal members" in message_at(minimal_doc, "sharing[0].member")


def test_a_main_family_carer_who_is_not_a_representative_cannot_decide_for_the_client(minimal_doc):
    minimal_doc["sharing"][1]["decidedBy"] = "M-1"  # first contact person and mantelzorger, not a legal representative
    assert "not a legal representative" in message_at(minimal_doc, "sharing[1].decidedBy")


@pytest.mark.parametrize("role", ["03", "11", "15", "24", "written-authorisation"])
def test_each_kind_of_legal_representative_may_decide_for_the_client(minimal_doc, role):
    minimal_doc["members"][4]["roles"] = [role]
    assert load_network(minimal_doc)["sharing"][1]["decidedBy"] == "M-5"


def test_own_agreements_for_a_member_who_performs_none_is_refused(minimal_doc):
    minimal_doc["sharing"][0]["parts"] = ["own-agreements"]  # M-1 performs no agreement
    assert "performs no agreement" in message_at(minimal_doc, "sharing[0].parts")


def test_all_agreements_and_own_agreements_together_are_refused(minimal_doc):
    minimal_doc["sharing"][1]["parts"] = ["agreements", "own-agreements"]
    assert paths_of(minimal_doc) == {"sharing[1].parts"}


def test_missing_bsn_is_refused(minimal_doc):
    del minimal_doc["client"]["bsn"]
    assert message_at(minimal_doc, "client.bsn") == "Missing data for required field."


def test_bsn_failing_the_eleven_check_is_refused(minimal_doc):
    minimal_doc["client"]["bsn"] = "123456789"
    assert "11-check" in message_at(minimal_doc, "client.bsn")


@pytest.mark.parametrize("path", ["id", "client.id", "members[0].id", "agreements[0].id", "goals[0].id",
                                  "logbook[0].id", "sharing[0].id", "organizations[0].id"])
def test_missing_ecd_id_is_refused(minimal_doc, path):
    target = minimal_doc
    for part in path.split(".")[:-1]:
        name, _, index = part.partition("[")
        target = target[name][int(index[:-1])] if index else target[name]
    del target["id"]
    assert path in paths_of(minimal_doc)


def test_ecd_id_with_characters_unsafe_in_a_url_is_refused(minimal_doc):
    minimal_doc["goals"][0]["id"] = "G 1|x"
    assert "goals[0].id" in paths_of(minimal_doc)


def test_source_system_with_a_pipe_is_refused(minimal_doc):
    minimal_doc["source"]["system"] = "https://ecd.example/id|x"
    assert paths_of(minimal_doc) == {"source.system"}


@pytest.mark.parametrize("path, value", [
    ("client.birthDate", "1938-02-30"),
    ("client.birthDate", "12-04-1938"),
    ("logbook[0].time", "2026-11-14T12:40:00"),  # no time zone
    ("sharing[0].recordedAt", "gisteren"),
    ("sharing[0].period.start", "2026-13-01"),
])
def test_bad_dates_are_refused(minimal_doc, path, value):
    parts = path.split(".")
    target = minimal_doc
    for part in parts[:-1]:
        name, _, index = part.partition("[")
        target = target[name][int(index[:-1])] if index else target[name]
    target[parts[-1]] = value
    assert path in paths_of(minimal_doc)


def test_period_ending_before_it_starts_is_refused(minimal_doc):
    minimal_doc["members"][1]["period"] = {"start": "2026-05-01", "end": "2026-04-30"}
    assert paths_of(minimal_doc) == {"members[1].period.end"}


def test_timing_with_a_period_but_no_unit_is_refused(minimal_doc):
    del minimal_doc["agreements"][0]["timing"]["repeat"]["periodUnit"]
    assert paths_of(minimal_doc) == {"agreements[0].timing.repeat.periodUnit"}


def test_empty_timing_is_refused(minimal_doc):
    minimal_doc["agreements"][0]["timing"] = {"repeat": {}}
    assert paths_of(minimal_doc) == {"agreements[0].timing.repeat"}


def test_professional_without_discipline_is_refused(minimal_doc):
    del minimal_doc["members"][2]["discipline"]
    assert paths_of(minimal_doc) == {"members[2].discipline"}


def test_informal_member_with_an_agb_code_is_refused(minimal_doc):
    minimal_doc["members"][0]["agb"] = "01012345"
    assert paths_of(minimal_doc) == {"members[0].agb"}


def test_malformed_agb_code_is_refused(minimal_doc):
    minimal_doc["members"][2]["agb"] = "1234"
    assert message_at(minimal_doc, "members[2].agb") == "Must be 8 digits."


def test_two_members_with_the_same_agb_code_are_refused(minimal_doc):
    other = dict(minimal_doc["members"][2], id="M-6", roles=[])
    minimal_doc["members"].append(other)
    assert "members[5].agb" in paths_of(minimal_doc)


def test_duplicate_member_ids_are_refused(minimal_doc):
    minimal_doc["members"][1]["id"] = "M-1"
    assert "members[1].id" in paths_of(minimal_doc)


def test_member_cannot_be_called_client(minimal_doc):
    minimal_doc["members"][1]["id"] = "client"
    assert "members[1].id" in paths_of(minimal_doc)


def test_unknown_organisation_is_refused(minimal_doc):
    minimal_doc["members"][3]["organization"] = "ORG-9"
    assert "members[3].organization" in paths_of(minimal_doc)


def test_organisation_nobody_uses_is_refused(minimal_doc):
    minimal_doc["organizations"].append({"id": "ORG-3", "name": "Niemand"})
    assert paths_of(minimal_doc) == {"organizations[2]"}


def test_unknown_field_is_refused_rather_than_dropped(minimal_doc):
    minimal_doc["members"][0]["nickname"] = "Pet"
    assert message_at(minimal_doc, "members[0].nickname") == "Unknown field."


def test_bad_phone_number_is_refused(minimal_doc):
    minimal_doc["members"][0]["telecom"] = [{"system": "phone", "value": "bel maar"}]
    assert paths_of(minimal_doc) == {"members[0].telecom[0].value"}


def test_every_problem_is_reported_at_once(minimal_doc):
    del minimal_doc["client"]["bsn"]
    minimal_doc["members"][2]["roles"] = ["42"]
    minimal_doc["agreements"][0]["performers"] = ["M-2", "nobody"]
    minimal_doc["logbook"][0]["author"] = "ghost"
    minimal_doc["sharing"][0]["member"] = "M-404"
    minimal_doc["goals"][0]["start"] = "2026-02-31"
    assert paths_of(minimal_doc) == {
        "client.bsn", "members[2].roles[0]", "agreements[0].performers[1]", "logbook[0].author",
        "sharing[0].member", "goals[0].start",
    }


def test_the_exception_message_names_the_problems(minimal_doc):
    del minimal_doc["client"]["bsn"]
    with pytest.raises(NetworkInvalid, match=r"client\.bsn: Missing data"):
        load_network(minimal_doc)
