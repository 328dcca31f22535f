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


# B4: a date at the calendar's ends (year 1 east of UTC; 9999-12-31 in Dutch time, whose next
# midnight is past the calendar) raised OverflowError in consent.dates: one such Period in a stored
# Consent, in a carer's RelatedPerson or in a CarePlan made every carer request about that client a
# 500 (the consent cache, the engine and the facts all read it), and so did a carer's logbook
# message with such a `sent`. Such an end is now the first or last instant there is.
EDGE_START = "0001-01-01T00:00:00+01:00"


def _as_daughter(anonymous, mint):
    token = mint("user/*.cruds", fhir_user="RelatedPerson/dochter-anna")
    return lambda method, path, **kw: anonymous.open(f"/fhir/{path}", method=method,
                                                     headers={**H, "Authorization": f"Bearer {token}"}, **kw)


def test_a_consent_period_starting_before_the_calendar_does_not_break_the_carers_requests(record, anonymous, mint):
    from fhir_builders import actor, classes, consent
    from test_attack_findings import ACCESS

    edge = consent("c-edge", "Patient/anna", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/dochter-anna")], "action": [ACCESS],
         "period": {"start": EDGE_START, "end": "9999-12-31"}, "class": classes("Goal")}]})
    assert record.put("/fhir/Consent/c-edge", headers=H, json=edge).status_code == 201
    daughter = _as_daughter(anonymous, mint)
    resp = daughter("GET", "CarePlan")
    assert resp.status_code == 200, resp.get_data()[:300]
    assert {e["resource"]["id"] for e in resp.get_json().get("entry", [])} == {"plan-anna"}
    assert daughter("GET", "Patient/anna/$everything").status_code == 200


def test_a_carers_membership_period_at_the_calendars_ends_still_counts_as_current(record, anonymous, mint):
    rp = {"resourceType": "RelatedPerson", "id": "dochter-anna", "active": True,
          "patient": {"reference": "Patient/anna"}, "period": {"start": EDGE_START, "end": "9999-12-31"}}
    assert record.put("/fhir/RelatedPerson/dochter-anna", headers=H, json=rp).status_code == 200
    resp = _as_daughter(anonymous, mint)("GET", "CarePlan")
    assert resp.status_code == 200, resp.get_data()[:300]
    assert [e["resource"]["id"] for e in resp.get_json()["entry"]] == ["plan-anna"]


def test_a_care_plan_or_a_logbook_message_dated_at_the_calendars_ends_is_stored_and_read_without_a_500(
        record, anonymous, mint):
    plan = {"resourceType": "CarePlan", "id": "plan-edge", "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/anna"}, "period": {"start": EDGE_START, "end": "9999-12-31"}}
    assert record.put("/fhir/CarePlan/plan-edge", headers=H, json=plan).status_code == 201
    daughter = _as_daughter(anonymous, mint)
    resp = daughter("GET", "CarePlan")
    assert resp.status_code == 200 and len(resp.get_json()["entry"]) == 2
    message = daughter("POST", "Communication", json={
        "resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/anna"},
        "sender": {"reference": "RelatedPerson/dochter-anna"}, "sent": EDGE_START,
        "payload": [{"contentString": "heel lang geleden"}]})
    assert message.status_code == 201, message.get_data()[:300]


def test_a_proposed_consent_with_a_period_at_the_calendars_ends_is_previewed(record):
    from fhir_builders import actor, classes, consent
    from test_attack_findings import ACCESS

    proposal = consent("c-anna", "Patient/anna", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/dochter-anna")], "action": [ACCESS],
         "period": {"start": EDGE_START}, "class": classes("CarePlan")}]})
    resp = record.post("/fhir/Patient/anna/$access-preview", headers=H, json={"resourceType": "Parameters", "parameter": [
        {"name": "actor", "valueReference": {"reference": "RelatedPerson/dochter-anna"}},
        {"name": "consent", "resource": proposal}]})
    assert resp.status_code == 200, resp.get_data()[:300]


# B5: an If-Modified-Since at the end of the calendar west of GMT has no UTC instant either; the
# read raised OverflowError (a 500). An unreadable date is ignored, as HTTP says.
def test_an_if_modified_since_past_the_calendars_end_is_ignored_not_a_500(record):
    resp = record.get("/fhir/CarePlan/plan-anna", headers={"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 -0100"})
    assert resp.status_code == 200, resp.get_data()[:300]
