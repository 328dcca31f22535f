"""Findings of the attack on this session's new surfaces (SMART authorization server,
Patient/$everything, the portal's server parts, the write-back outbox, the consent cache and
audit group commit), one test per finding (B1, B2, ...), through HTTP; each failed before its fix."""
from urllib.parse import quote

import pytest
from fhir_builders import put_all
from test_attack_findings import H, RECORD


@pytest.fixture
def record(client):
    return put_all(client, RECORD)


# B1: `_since` one hour east of UTC in year 1 (or west of it in year 9999) has no UTC instant:
# parse_instant let Python's OverflowError out, a 500 on $everything (GET and POST) and _history.
@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
@pytest.mark.parametrize("path", ["Patient/anna/$everything", "Patient/anna/_history", "_history"])
def test_a_since_at_the_edge_of_the_calendar_is_a_400_not_a_500(record, path, since):
    resp = record.get(f"/fhir/{path}?_since={quote(since)}")
    assert resp.status_code == 400, resp.get_data()[:300]
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_a_posted_everything_since_at_the_edge_of_the_calendar_is_a_400(record):
    resp = record.post("/fhir/Patient/anna/$everything", headers=H, json={
        "resourceType": "Parameters", "parameter": [{"name": "_since", "valueInstant": "0001-01-01T00:00:00+01:00"}]})
    assert resp.status_code == 400, resp.get_data()[:300]
