"""What history and vread judge a stored version by is kept per stored content, never per id alone."""
import orjson

from gateway.policy import compartment_of, version_facts


def _message(version: str, patient: str, sender: str) -> bytes:
    return orjson.dumps({"resourceType": "Communication", "id": "m1", "meta": {"versionId": version},
                         "status": "completed", "subject": {"reference": f"Patient/{patient}"},
                         "sender": {"reference": sender}, "sent": "2026-11-30T10:00:00+01:00"})


def test_the_same_bytes_are_judged_once_and_another_version_on_its_own_content():
    first = _message("1", "anna", "RelatedPerson/kees")
    assert version_facts(first) is version_facts(bytes(bytearray(first)))  # equal bytes: kept, not extracted again
    moved = _message("2", "bert", "Practitioner/p1")
    assert version_facts(first).compartment == frozenset({"anna"})
    assert version_facts(moved).compartment == frozenset({"bert"})  # same id, new content: judged anew
    assert version_facts(moved).facts.authors == frozenset({"Practitioner/p1"})
    assert version_facts(moved).compartment == compartment_of(orjson.loads(moved))


def test_an_audit_events_agents_are_kept_with_it():
    event = orjson.dumps({"resourceType": "AuditEvent", "id": "a1", "type": {"code": "rest"},
                          "recorded": "2026-11-30T10:00:00Z",
                          "agent": [{"who": {"reference": "RelatedPerson/kees"}, "requestor": True}],
                          "source": {"observer": {"display": "samenzorg"}},
                          "entity": [{"what": {"reference": "Patient/anna"}}]})
    assert "RelatedPerson/kees" in version_facts(event).agents
    assert version_facts(_message("1", "anna", "RelatedPerson/kees")).agents == frozenset()


def test_the_kept_versions_are_bounded():
    bound = version_facts.cache_info().maxsize
    for i in range(bound + 10):
        version_facts(_message(str(i), "anna", "RelatedPerson/kees"))
    assert version_facts.cache_info().currsize == bound
