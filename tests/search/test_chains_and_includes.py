"""Chained parameters, reverse chains (_has), _include and _revinclude (incl. :iterate)."""
import pytest



@pytest.fixture
def network(store):
    """Anna's care network: a carer, a nurse, a team, a plan with a goal, messages."""
    put = store.put
    put({"resourceType": "Patient", "id": "anna", "name": [{"family": "de Vries", "given": ["Anna"]}],
         "identifier": [{"system": "urn:bsn", "value": "111"}]})
    put({"resourceType": "Patient", "id": "bert", "name": [{"family": "Bakker", "given": ["Bert"]}],
         "identifier": [{"system": "urn:bsn", "value": "222"}]})
    put({"resourceType": "RelatedPerson", "id": "els", "patient": {"reference": "Patient/anna"},
         "name": [{"family": "de Vries", "given": ["Els"]}],
         "relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                                       "code": "DAU"}]}]})
    put({"resourceType": "Practitioner", "id": "nurse", "name": [{"family": "Visser"}]})
    put({"resourceType": "Organization", "id": "thuiszorg", "name": "Thuiszorg Ede"})
    put({"resourceType": "PractitionerRole", "id": "nurse-role", "practitioner": {"reference": "Practitioner/nurse"},
         "organization": {"reference": "Organization/thuiszorg"},
         "code": [{"coding": [{"system": "urn:roles", "code": "wijkverpleegkundige"}]}],
         "specialty": [{"coding": [{"system": "urn:spec", "code": "ouderenzorg"}]}]})
    put({"resourceType": "CareTeam", "id": "team", "status": "active", "subject": {"reference": "Patient/anna"},
         "participant": [{"member": {"reference": "RelatedPerson/els"}},
                         {"member": {"reference": "Practitioner/nurse"}}]})
    put({"resourceType": "Goal", "id": "goal", "lifecycleStatus": "active", "description": {"text": "Thuis wonen"},
         "subject": {"reference": "Patient/anna"}})
    put({"resourceType": "CarePlan", "id": "plan", "status": "active", "intent": "plan",
         "subject": {"reference": "Patient/anna"}, "careTeam": [{"reference": "CareTeam/team"}],
         "goal": [{"reference": "Goal/goal"}],
         "activity": [{"detail": {"status": "scheduled", "code": {"coding": [{"system": "urn:act", "code": "boodschappen"}]},
                                  "performer": [{"reference": "RelatedPerson/els"}],
                                  "scheduledPeriod": {"start": "2026-03-01", "end": "2026-03-31"}}}]})
    put({"resourceType": "CarePlan", "id": "plan-bert", "status": "active", "intent": "plan",
         "subject": {"reference": "Patient/bert"}})
    put({"resourceType": "Communication", "id": "msg1", "status": "completed", "subject": {"reference": "Patient/anna"},
         "sender": {"reference": "RelatedPerson/els"}, "recipient": [{"reference": "Practitioner/nurse"}],
         "sent": "2026-03-05T10:00:00Z", "basedOn": [{"reference": "CarePlan/plan"}]})
    put({"resourceType": "Communication", "id": "msg2", "status": "completed", "subject": {"reference": "Patient/bert"},
         "sender": {"reference": "Practitioner/nurse"}, "partOf": [{"reference": "Communication/msg1"}]})
    put({"resourceType": "Provenance", "id": "prov", "target": [{"reference": "CarePlan/plan"}],
         "recorded": "2026-03-01T08:00:00Z", "agent": [{"who": {"reference": "Practitioner/nurse"}}]})
    return store


def found(store, rtype, query):
    return sorted(store.ids(rtype, query))


def test_chain_with_an_explicit_type(network):
    assert found(network, "CarePlan", "subject:Patient.identifier=urn:bsn|111") == ["plan"]


def test_chain_without_a_type_tries_every_target_that_has_the_parameter(network):
    assert found(network, "CarePlan", "subject.name=bakker") == ["plan-bert"]
    assert found(network, "Communication", "sender.name=de vries") == ["msg1"]


def test_chains_can_go_several_links_deep(network):
    assert found(network, "CarePlan", "care-team.participant:RelatedPerson.patient.name=anna") == ["plan"]


def test_reverse_chain_finds_resources_referred_to_by_matching_ones(network):
    assert found(network, "Patient", "_has:Communication:subject:sender=RelatedPerson/els") == ["anna"]
    assert found(network, "Patient", "_has:CarePlan:patient:status=active") == ["anna", "bert"]
    assert found(network, "Practitioner", "_has:PractitionerRole:practitioner:role=wijkverpleegkundige") == ["nurse"]


def test_reverse_chains_nest(network):
    query = "_has:CareTeam:participant:_has:CarePlan:care-team:status=active"
    assert found(network, "RelatedPerson", query) == ["els"]


def test_type_specific_parameters_of_the_care_network(network):
    assert found(network, "RelatedPerson", "relationship=DAU&patient=anna") == ["els"]
    assert found(network, "PractitionerRole", "organization=Organization/thuiszorg&specialty=ouderenzorg") == ["nurse-role"]
    assert found(network, "PractitionerRole", "practitioner=nurse") == ["nurse-role"]
    assert found(network, "CareTeam", "participant=RelatedPerson/els&status=active") == ["team"]
    assert found(network, "CarePlan", "performer=RelatedPerson/els&activity-code=boodschappen") == ["plan"]
    assert found(network, "CarePlan", "activity-date=ge2026-03-15&goal=Goal/goal&care-team=team") == ["plan"]
    assert found(network, "Goal", "lifecycle-status=active&patient=anna") == ["goal"]
    assert found(network, "Communication", "recipient=Practitioner/nurse&sent=2026-03-05") == ["msg1"]
    assert found(network, "Communication", "based-on=CarePlan/plan") == ["msg1"]
    assert found(network, "Communication", "part-of=Communication/msg1") == ["msg2"]
    assert found(network, "Provenance", "target=CarePlan/plan&agent=nurse&recorded=2026-03-01") == ["prov"]
    assert found(network, "Organization", "name=thuiszorg") == ["thuiszorg"]


def test_include_adds_referenced_resources_in_include_mode(network):
    bundle = network.search("CarePlan", "_id=plan&_include=CarePlan:subject&_include=CarePlan:care-team")
    assert network.entries(bundle) == ["plan"]
    assert network.typed(bundle) == ["CareTeam/team", "Patient/anna"]


def test_include_with_a_target_type_follows_only_that_type(network):
    bundle = network.search("Communication", "_id=msg1&_include=Communication:recipient:Patient")
    assert network.typed(bundle) == []
    bundle = network.search("Communication", "_id=msg1&_include=Communication:recipient:Practitioner")
    assert network.typed(bundle) == ["Practitioner/nurse"]


def test_include_star_follows_every_reference(network):
    bundle = network.search("CarePlan", "_id=plan&_include=*")
    assert network.typed(bundle) == ["CareTeam/team", "Goal/goal", "Patient/anna", "RelatedPerson/els"]


def test_revinclude_adds_resources_pointing_at_the_matches(network):
    bundle = network.search("CarePlan", "_id=plan&_revinclude=Provenance:target&_revinclude=Communication:based-on")
    assert network.typed(bundle) == ["Communication/msg1", "Provenance/prov"]


def test_include_iterate_follows_references_of_included_resources(network):
    # Without :iterate an include must start from the searched type (else 400, see
    # test_result_shaping).
    plain = network.search("CarePlan", "_id=plan&_include=CarePlan:care-team")
    assert network.typed(plain) == ["CareTeam/team"]
    iterated = network.search("CarePlan", "_id=plan&_include=CarePlan:care-team"
                                          "&_include:iterate=CareTeam:participant")
    assert network.typed(iterated) == ["CareTeam/team", "Practitioner/nurse", "RelatedPerson/els"]


def test_revinclude_iterate_walks_back_from_included_resources(network):
    bundle = network.search("Patient", "_id=bert&_revinclude=Communication:subject"
                                       "&_revinclude:iterate=Communication:part-of")
    assert network.typed(bundle) == ["Communication/msg2"]
    bundle = network.search("CarePlan", "_id=plan&_revinclude=Communication:based-on"
                                        "&_include:iterate=Communication:sender")
    assert network.typed(bundle) == ["Communication/msg1", "RelatedPerson/els"]


def test_an_included_resource_that_is_also_a_match_appears_once(network):
    bundle = network.search("Communication", "_include=Communication:part-of")
    assert sorted(network.entries(bundle)) == ["msg1", "msg2"]
    assert network.typed(bundle) == []


def test_includes_skip_deleted_targets(network):
    network.delete("Goal", "goal")
    bundle = network.search("CarePlan", "_id=plan&_include=CarePlan:goal")
    assert network.typed(bundle) == []
