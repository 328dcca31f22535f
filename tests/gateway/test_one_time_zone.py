"""One time-zone rule: a date without a zone is a Dutch day, in search, in the
search index, in Consent and in `_since` (consent/dates.py)."""
from datetime import datetime

from fhir_builders import actor, classes, consent

from gateway.fhirtime import parse_instant

H = {"Content-Type": "application/fhir+json"}


def _message(mid, sent):
    return {"resourceType": "Communication", "id": mid, "status": "completed",
            "subject": {"reference": "Patient/p"}, "sent": sent}


RECORD = [
    {"resourceType": "Patient", "id": "p"},
    {"resourceType": "RelatedPerson", "id": "r", "active": True, "patient": {"reference": "Patient/p"}},
    _message("early", "2026-03-05T00:30:00+01:00"),    # 23:30 UTC on the 4th: the 5th in Ede
    _message("evening", "2026-03-05T23:30:00+01:00"),  # the 5th everywhere
    _message("late", "2026-03-05T23:30:00Z"),          # 00:30 on the 6th in Ede
    _message("before", "2026-03-04T12:00:00+01:00"),
    consent("c", "Patient/p", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/r")], "class": classes("Communication"),
         "dataPeriod": {"start": "2026-03-05", "end": "2026-03-05"}}]}),
]


def test_search_and_consent_agree_about_what_a_day_is(client, anonymous, mint):
    for r in RECORD:
        assert client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H).status_code == 201

    def ids(path, token):
        bundle = anonymous.get(f"/fhir/{path}", headers={"Authorization": f"Bearer {token}"}).get_json()
        return sorted(e["resource"]["id"] for e in bundle.get("entry", []))

    by_search = ids("Communication?sent=2026-03-05", mint("system/*.rs"))
    by_consent = ids("Communication", mint("user/*.rs", fhir_user="RelatedPerson/r"))
    assert by_search == by_consent == ["early", "evening"]
    assert ids("Communication?sent=2026-03-06", mint("system/*.rs")) == ["late"]


def test_since_as_a_bare_date_starts_at_dutch_midnight():
    assert parse_instant("2026-03-05") == datetime(2026, 3, 4, 23)
    assert parse_instant("2026-07-01") == datetime(2026, 6, 30, 22)
    assert parse_instant("2026-03-05T10:00:00+01:00") == datetime(2026, 3, 5, 9)
    assert parse_instant("2026-03-05T10:00:00") is None


def test_http_dates_are_imf_fixdates_of_the_utc_instant_in_every_year():
    # Last-Modified and If-Modified-Since speak RFC 9110's IMF-fixdate; ours is written by hand
    # (fhirtime.http_date), so it is held to what the standard library writes, years 1 to 9999.
    from datetime import timedelta, timezone
    from email.utils import format_datetime

    from gateway.fhirtime import http_date, parse_http_date

    step = timedelta(days=3652, hours=7, minutes=13, seconds=29, microseconds=999)  # ~a decade, every weekday
    instants = [datetime(1, 1, 1) + k * step for k in range(1000)] + [datetime(9999, 12, 31, 23, 59, 59)]
    for t in instants:
        assert http_date(t) == format_datetime(t.replace(tzinfo=timezone.utc), usegmt=True)
        if t.year >= 1000:  # the email parser reads a year below 100 as 19xx or 20xx (RFC 5322's obsolete syntax)
            assert parse_http_date(http_date(t)) == t.replace(microsecond=0)
    assert http_date(datetime(2026, 12, 2, 7, 5, 9, 999000)) == "Wed, 02 Dec 2026 07:05:09 GMT"
