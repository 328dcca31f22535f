"""facts_of: what each resource type offers the criteria."""
from datetime import datetime, timedelta, timezone

import pytest
from consent_builders import importer_consent

from consent import DateRange, facts_of

SCT = "http://snomed.info/sct"
AMS_SUMMER = timezone(timedelta(hours=2))
AMS_WINTER = timezone(timedelta(hours=1))


def test_care_plan_code_is_category_and_activity_code_and_author_includes_contributors():
    plan = {"resourceType": "CarePlan", "id": "cp7",
            "meta": {"security": [{"system": "urn:x", "code": "hidden"}]},
            "category": [{"coding": [{"system": SCT, "code": "243114000"}]}],
            "activity": [{"detail": {"code": {"coding": [{"system": SCT, "code": "386229000"}]}}}],
            "subject": {"reference": "Patient/p1"},
            "author": {"reference": "Practitioner/n1"}, "contributor": [{"reference": "RelatedPerson/r1"}],
            "period": {"start": "2026-03-01"}}
    facts = facts_of(plan)
    assert facts.type == "CarePlan" and facts.id == "CarePlan/cp7"
    assert facts.codes == {(SCT, "243114000"), (SCT, "386229000")}
    assert facts.security == {("urn:x", "hidden")}
    assert facts.authors == {"Practitioner/n1", "RelatedPerson/r1"}
    assert {"Patient/p1", "Practitioner/n1", "RelatedPerson/r1"} <= facts.references
    assert facts.data_date.start == datetime(2026, 3, 1, tzinfo=AMS_WINTER)
    assert facts.data_date.end is None
    assert facts.referenced_by is None


def test_logbook_entry_is_dated_by_when_it_was_sent_and_authored_by_its_sender():
    note = {"resourceType": "Communication", "id": "m1", "sent": "2026-05-01T09:00:00+02:00",
            "sender": {"reference": "RelatedPerson/r1"},
            "category": [{"coding": [{"system": SCT, "code": "a"}]}],
            "topic": {"coding": [{"system": SCT, "code": "b"}]}}
    facts = facts_of(note)
    assert facts.data_date.start == datetime(2026, 5, 1, 9, tzinfo=AMS_SUMMER)
    assert facts.data_date.end - facts.data_date.start == timedelta(seconds=1)
    assert facts.authors == {"RelatedPerson/r1"}
    assert facts.codes == {(SCT, "a"), (SCT, "b")}


def test_goal_code_is_category_and_description_dated_by_start_date():
    goal = {"resourceType": "Goal", "id": "g1", "startDate": "2026-04",
            "description": {"coding": [{"system": SCT, "code": "d"}]},
            "expressedBy": {"reference": "Patient/p1"}}
    facts = facts_of(goal)
    assert facts.codes == {(SCT, "d")}
    assert facts.authors == {"Patient/p1"}
    assert (facts.data_date.end - facts.data_date.start).days == 30


def test_care_team_and_consent_facts():
    team = {"resourceType": "CareTeam", "id": "t1", "period": {"start": "2026-01-01", "end": "2026-12-31"},
            "category": [{"coding": [{"system": SCT, "code": "c"}]}]}
    assert facts_of(team).codes == {(SCT, "c")}
    assert facts_of(team).data_date is not None
    consent_facts = facts_of(importer_consent())
    assert consent_facts.authors == {"Patient/p1"}
    assert ("http://loinc.org", "59284-0") in consent_facts.codes
    assert consent_facts.data_date is not None
    assert "CarePlan/cp7" in consent_facts.references


def test_other_types_have_no_code_date_or_author():
    person = {"resourceType": "RelatedPerson", "id": "r1", "patient": {"reference": "Patient/p1"}}
    facts = facts_of(person)
    assert facts.codes == frozenset() and facts.data_date is None and facts.authors == frozenset()
    assert facts.references == {"Patient/p1"}


def test_odd_json_yields_no_facts_instead_of_failing():
    odd = {"resourceType": "Communication", "sent": "gisteren", "category": "x",
           "meta": {"security": [{"code": "R"}]}, "contained": [{"resourceType": "Patient",
                                                               "link": [{"other": {"reference": "Patient/x"}}]}],
           "subject": {"reference": "#p"}}
    facts = facts_of(odd)
    assert facts.id is None and facts.data_date is None
    assert facts.security == frozenset() and facts.codes == frozenset()
    assert facts.references == frozenset()


def test_partial_dates_cover_their_whole_span_in_dutch_time():
    goal = facts_of({"resourceType": "Goal", "startDate": "2026-10-25"})
    # The day the clocks go back lasts 25 hours.
    assert goal.data_date == DateRange(datetime(2026, 10, 25, tzinfo=AMS_SUMMER),
                                       datetime(2026, 10, 26, tzinfo=AMS_WINTER))
    assert goal.data_date.end - goal.data_date.start == timedelta(hours=25)


def test_dutch_local_time_is_right_without_a_timezone_database():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import consent.dates as dates
    amsterdam = ZoneInfo("Europe/Amsterdam")
    for year in (1996, 2026, 2027, 2040):
        for day in range(366):
            for hour in (0, 12, 23):
                wall = datetime(year, 1, 1, hour) + timedelta(days=day)
                assert dates._eu_offset(wall) == wall.replace(tzinfo=amsterdam).utcoffset(), wall

@pytest.mark.parametrize("value", ["2026-13-01", "2026-03-01T10:00", {"start": "2026"}, ["2026"], None, 2026])
def test_a_date_that_cannot_be_read_is_refused_every_time_it_is_asked(value):
    """Dates are kept per value once read; what cannot be read is refused again (ValueError, also
    for values that cannot be kept: a dict is no date, not a crash)."""
    from consent.dates import parse_range

    for _ in range(2):
        with pytest.raises(ValueError):
            parse_range(value)
    assert parse_range("2026-03-01") == parse_range("2026-03-01")
