"""The Consent our own importer writes: one per informal member, deny base rule."""
from datetime import datetime, timedelta, timezone

from consent_builders import NOW, importer_consent, request, resource

from consent import CONTRIBUTE, decide

AMS_WINTER = timezone(timedelta(hours=1))


def test_daughter_may_read_the_care_team_and_the_logbook():
    for rtype in ("CareTeam", "Communication"):
        decision = decide([importer_consent()], request(), resource(rtype, "x"))
        assert decision.verdict == "permit"
        assert (decision.consent, decision.provision) == ("Consent/c1", "provision.provision[0]")


def test_daughter_may_read_only_the_care_plan_named_in_the_consent():
    assert decide([importer_consent()], request(), resource("CarePlan", "cp7")).verdict == "permit"
    other = decide([importer_consent()], request(), resource("CarePlan", "cp8"))
    assert other.verdict == "deny"
    assert other.provision == "provision"


def test_daughter_may_not_read_goals_she_was_not_given():
    assert decide([importer_consent()], request(), resource("Goal", "g1")).verdict == "deny"


def test_daughter_may_write_in_the_logbook_but_not_in_the_care_plan():
    c1 = importer_consent()
    assert decide([c1], request(action=CONTRIBUTE), resource("Communication", "m1")).verdict == "permit"
    assert decide([c1], request(action=CONTRIBUTE), resource("CarePlan", "cp7")).verdict == "deny"


def test_neighbour_without_consent_is_denied():
    decision = decide([importer_consent()], request(actor="RelatedPerson/r2"), resource("CareTeam"))
    assert decision.verdict == "deny"


def test_ircp_participation_role_does_not_stand_in_for_the_named_person():
    participation = ("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP")
    stranger = request(actor="RelatedPerson/r2", roles=[participation])
    assert decide([importer_consent()], stranger, resource("CareTeam")).verdict == "deny"


def test_reading_access_ends_after_the_last_day_of_the_period():
    c1 = importer_consent()
    last_evening = datetime(2027, 3, 1, 23, 59, 59, tzinfo=AMS_WINTER)
    next_morning = datetime(2027, 3, 2, 0, 0, 0, tzinfo=AMS_WINTER)
    assert decide([c1], request(now=last_evening), resource()).verdict == "permit"
    assert decide([c1], request(now=next_morning), resource()).verdict == "deny"


def test_reading_access_starts_at_local_midnight_of_the_first_day():
    c1 = importer_consent()
    before = datetime(2026, 2, 28, 23, 59, 59, tzinfo=AMS_WINTER)
    first = datetime(2026, 3, 1, 0, 0, 0, tzinfo=AMS_WINTER)
    assert decide([c1], request(now=before), resource()).verdict == "deny"
    assert decide([c1], request(now=first), resource()).verdict == "permit"


def test_expired_period_leaves_provisions_without_a_period_in_force():
    later = NOW.replace(year=2028)
    c1 = importer_consent()
    assert decide([c1], request(now=later), resource("CareTeam")).verdict == "deny"
    assert decide([c1], request(now=later, action=CONTRIBUTE),
                  resource("Communication", "m1")).verdict == "permit"


def test_consent_for_another_patient_grants_nothing():
    assert decide([importer_consent()], request(patient="Patient/p2"), resource()).verdict == "deny"
