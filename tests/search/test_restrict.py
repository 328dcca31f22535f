"""The `restrict` hook: what a caller may not see never shows, not even in totals,
includes, chains or reverse chains."""
import pytest
from sqlalchemy import select

from gateway.storage.tables import idx_reference, resources

HIDDEN = {"Patient": {"bert"}, "CarePlan": {"plan-bert"}, "Communication": {"msg-bert"},
          "RelatedPerson": {"els-bert"}}


def hide(res_type):
    """Everything of Bert's is hidden from this caller."""
    hidden = HIDDEN.get(res_type)
    return None if not hidden else resources.c.res_id.not_in(sorted(hidden))


@pytest.fixture
def two_networks(store):
    for who in ("anna", "bert"):
        store.put({"resourceType": "Patient", "id": who, "name": [{"family": "Jansen", "given": [who]}]})
        store.put({"resourceType": "RelatedPerson", "id": f"els-{who}", "patient": {"reference": f"Patient/{who}"},
                   "name": [{"family": "Jansen"}]})
        store.put({"resourceType": "CarePlan", "id": f"plan-{who}", "status": "active", "intent": "plan",
                   "subject": {"reference": f"Patient/{who}"}})
        store.put({"resourceType": "Communication", "id": f"msg-{who}", "status": "completed",
                   "subject": {"reference": f"Patient/{who}"},
                   "sender": {"reference": f"RelatedPerson/els-{who}"}})
    # A plan of Anna's that refers to Bert: the reference must not reveal him.
    store.put({"resourceType": "CarePlan", "id": "plan-shared", "status": "active", "intent": "plan",
               "subject": {"reference": "Patient/anna"}, "careTeam": [], "basedOn": [{"reference": "CarePlan/plan-bert"}]})
    return store


def test_hidden_resources_are_not_matched_and_not_counted(two_networks):
    bundle = two_networks.search("Patient", "family=jansen", restrict=hide)
    assert two_networks.entries(bundle) == ["anna"] and bundle["total"] == 1


def test_count_only_totals_respect_restrict(two_networks):
    assert two_networks.search("CarePlan", "_summary=count", restrict=hide)["total"] == 2
    assert two_networks.search("CarePlan", "_summary=count")["total"] == 3


def test_hidden_resources_are_not_included(two_networks):
    bundle = two_networks.search("CarePlan", "_include=CarePlan:subject&_include=CarePlan:based-on",
                                 restrict=hide)
    assert sorted(two_networks.entries(bundle)) == ["plan-anna", "plan-shared"]
    assert two_networks.typed(bundle) == ["Patient/anna"]


def test_hidden_resources_are_not_revincluded(two_networks):
    bundle = two_networks.search("Patient", "_revinclude=Communication:subject&_revinclude=CarePlan:subject",
                                 restrict=hide)
    assert two_networks.typed(bundle) == ["CarePlan/plan-anna", "CarePlan/plan-shared", "Communication/msg-anna"]


def test_chains_cannot_probe_hidden_resources(two_networks):
    assert two_networks.ids("CarePlan", "subject:Patient.given=bert") == ["plan-bert"]
    # Even if the plan itself were visible, a chain through a hidden patient finds nothing.
    only_patients_hidden = lambda t: resources.c.res_id != "bert" if t == "Patient" else None
    assert two_networks.ids("CarePlan", "subject:Patient.given=bert", restrict=only_patients_hidden) == []


def test_reverse_chains_cannot_probe_hidden_resources(two_networks):
    query = "_has:Communication:subject:sender=RelatedPerson/els-bert"
    assert two_networks.ids("Patient", query) == ["bert"]
    only_messages_hidden = lambda t: resources.c.res_id != "msg-bert" if t == "Communication" else None
    assert two_networks.ids("Patient", query, restrict=only_messages_hidden) == []


def test_paging_and_totals_agree_under_restrict(two_networks):
    first = two_networks.search("CarePlan", "_count=1", restrict=hide)
    seen, page = [], first
    while page is not None:
        assert page["total"] == 2
        seen += two_networks.entries(page)
        page = two_networks.follow(page, restrict=hide)
    assert sorted(seen) == ["plan-anna", "plan-shared"]


def test_restrict_may_use_a_subquery_over_the_index_tables(two_networks):
    """The shape the consent filter will take: rid IN (SELECT ...)."""
    def annas_compartment(res_type):
        if res_type == "Patient":
            return resources.c.res_id == "anna"
        return resources.c.rid.in_(select(idx_reference.c.rid).where(
            idx_reference.c.target_type == "Patient", idx_reference.c.target_id == "anna"))
    bundle = two_networks.search("Patient", "_revinclude=Communication:subject&_revinclude=CarePlan:subject",
                                 restrict=annas_compartment)
    assert two_networks.entries(bundle) == ["anna"] and bundle["total"] == 1
    assert two_networks.typed(bundle) == ["CarePlan/plan-anna", "CarePlan/plan-shared", "Communication/msg-anna"]


def test_system_level_search_applies_restrict_per_type(two_networks):
    bundle = two_networks.search(None, "_type=Patient,CarePlan", restrict=hide)
    assert bundle["total"] == 3
    assert sorted(two_networks.entries(bundle)) == ["anna", "plan-anna", "plan-shared"]
