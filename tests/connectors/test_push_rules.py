"""The pure parts of write-back: Retry-After, back-off with jitter, what a source receives."""
from datetime import datetime, timezone


from connectors.base import OutboundItem
from connectors.push import WRITEBACK_SYSTEM, csv_row, retry_after, upstream_resource
from gateway.outbox.delivery import RetryPolicy
from gateway.worker import run


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after("120") == 120.0
    assert retry_after("Mon, 30 Nov 2026 12:05:00 GMT", now) == 300.0
    assert retry_after("Mon, 30 Nov 2026 11:00:00 GMT", now) == 0.0  # a date in the past: now
    assert retry_after("soon") is None and retry_after(None) is None and retry_after("-5") is None


def test_back_off_doubles_with_jitter_stays_under_the_cap_and_never_undercuts_retry_after():
    policy = RetryPolicy(base=10, cap=300)
    for attempts, full in ((1, 10), (2, 20), (3, 40), (9, 300)):
        waits = [policy.delay(attempts) for _ in range(200)]
        assert all(full / 2 <= w < full for w in waits)
        assert len(set(waits)) > 1  # jitter: failures at one moment do not retry at one moment
    assert policy.delay(1, retry_after=120) >= 120
    assert policy.delay(1, retry_after=10_000) == 300  # a Retry-After beyond the cap waits the cap


def _item(**extra):
    resource = {"resourceType": "Communication", "id": "local-1", "meta": {"versionId": "1"},
                "status": "completed", "subject": {"reference": "Patient/p1"},
                "sender": {"reference": "RelatedPerson/r1", "display": "Els"},
                "recipient": [{"reference": "CareTeam/unknown"}],
                "payload": [{"contentString": 'Zei: "ja", at\nen dronk'}]}
    related = {"Patient/p1": {"identifier": [{"system": "https://ecd/ids/client", "value": "C-1"}]},
               "RelatedPerson/r1": {"identifier": [{"system": "https://ecd/ids/member", "value": "M-9"}]}}
    return OutboundItem(item_id=1, idempotency_key="k" * 32, res_type="Communication", res_id="local-1",
                        resource=resource, patient={"id": "p1", **related["Patient/p1"]}, resource_key="r" * 32,
                        related=related, **extra)


def test_a_fhir_source_receives_no_local_ids_and_the_identifier_samenzorg_assigned():
    sent = upstream_resource(_item(), "r" * 32)
    assert "id" not in sent and "meta" not in sent
    assert sent["identifier"] == [{"system": WRITEBACK_SYSTEM, "value": "r" * 32}]
    assert sent["subject"] == {"type": "Patient", "identifier": {"system": "https://ecd/ids/client", "value": "C-1"}}
    assert sent["sender"] == {"type": "RelatedPerson", "display": "Els",
                              "identifier": {"system": "https://ecd/ids/member", "value": "M-9"}}
    assert sent["recipient"] == [{"reference": "CareTeam/unknown"}]  # nothing known to name it by: left as is


def test_a_csv_row_file_quotes_what_needs_quoting():
    import csv

    text = csv_row(_item()).decode()
    [row] = list(csv.DictReader(text.splitlines(keepends=True)))
    assert (row["client"], row["author"], row["text"], row["action"]) == ("C-1", "M-9", 'Zei: "ja", at\nen dronk', "create")


def test_a_worker_run_with_once_stops_when_a_pass_finds_nothing_to_do():
    work = [3, 1, 0, 5]
    passes = run([("job", lambda: type("S", (), {"attempted": work.pop(0)})())], once=True, idle=0)
    assert passes == 3 and work == [5]


def test_a_failing_job_does_not_end_the_worker():
    import threading

    stop, calls = threading.Event(), []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database blip")
        if len(calls) == 3:
            stop.set()
        return ["did something"]

    assert run([("flaky", flaky)], stop=stop, idle=0) == 3 and len(calls) == 3


def test_a_lease_outlasts_a_claimed_batch_of_the_slowest_pushes_unless_given_by_hand():
    from connectors.config import parse_config
    from gateway.outbox.delivery import Deliverer

    config = parse_config({"sources": {
        "snel": {"kind": "fhir", "base_url": "https://snel.example/fhir", "timeout": {"connect": 1, "read": 2}},
        "traag": {"kind": "fhir", "base_url": "https://traag.example/fhir", "timeout": {"connect": 5, "read": 30}}}})
    assert Deliverer(None, config, batch=20, concurrency=4).lease == 2 * 35 * 5  # 5 pushes in turn per thread
    assert Deliverer(None, parse_config({}), batch=20, concurrency=4, subscription_timeout=5).lease == 120
    assert Deliverer(None, config, RetryPolicy(lease=3), batch=20).lease == 3
