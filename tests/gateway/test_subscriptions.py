"""Consent-filtered R4 rest-hook Subscriptions, delivered by the outbox worker to a real local endpoint."""
import orjson
import pytest
from outbox_world import World, message, write_config
from subscription_receiver import Hook

FHIR_JSON = "application/fhir+json"
DOCHTER = "RelatedPerson/dochter"


@pytest.fixture
def hook():
    with Hook() as h:
        yield h


@pytest.fixture
def world(settings, mint, tmp_path):
    w = World(settings, mint, write_config(tmp_path, ""))
    yield w
    w.close()


def subscription(endpoint, criteria="Communication?patient=Patient/moeder", payload=FHIR_JSON, end=None,
                 **channel):
    ch = {"type": "rest-hook", "endpoint": endpoint, "header": ["Authorization: Bearer portal-secret"], **channel}
    if payload:
        ch["payload"] = payload
    return {"resourceType": "Subscription", "status": "requested", "reason": "Nieuwe logboekberichten",
            "criteria": criteria, "channel": ch, **({"end": end} if end else {})}


def subscribe(world, who, resource):
    resp = world.http.post("/fhir/Subscription", json=resource, headers=world.headers(who))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def read(world, who, sid):
    return world.http.get(f"/fhir/Subscription/{sid}", headers=world.headers(who))


def deliver(world, **kw):
    from gateway.outbox.delivery import Deliverer, RetryPolicy

    return Deliverer(world.engine, world.config, RetryPolicy(base=0.0, **kw), subscription_timeout=0.5).flush()


def system_message(world, patient="Patient/moeder", text="Bericht van de wijkverpleging."):
    m = message(sender="RelatedPerson/dochter", patient=patient, text=text)
    del m["sender"]
    resp = world.http.post("/fhir/Communication", json=m, headers=world.system)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def notified_ids(hook):
    """The resource ids the endpoint was told about (handshakes name none)."""
    out = []
    for _headers, body in hook.received:
        for e in orjson.loads(body)["entry"] if body else []:
            out.append(e["fullUrl"].rsplit("/", 1)[1])
    return out


def active(world, who, hook, **subscription_kw):
    sid = subscribe(world, who, subscription(hook.url, **subscription_kw))
    assert read(world, who, sid).get_json()["status"] == "requested"
    assert deliver(world).delivered == 1  # the handshake
    assert read(world, who, sid).get_json()["status"] == "active"
    hook.received.clear()
    return sid


def test_a_carers_subscription_is_notified_of_a_permitted_message_and_not_of_one_about_another_client(world, hook):
    active(world, DOCHTER, hook, criteria="Communication")
    mine = world.write("Moeder heeft goed gegeten.")
    system_message(world, patient="Patient/ander")
    assert deliver(world).delivered == 1
    assert notified_ids(hook) == [mine]
    headers, _ = hook.received[0]
    assert headers["authorization"] == "Bearer portal-secret"
    assert headers["content-type"].startswith(FHIR_JSON)


def test_a_notification_names_the_resource_and_never_carries_its_content(world, hook):
    sid = active(world, DOCHTER, hook)
    mid = world.write("Geheime inhoud 12345")
    deliver(world)
    [(_, body)] = hook.received
    assert b"Geheime inhoud" not in body and b"payload" not in body
    bundle = orjson.loads(body)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    [entry] = bundle["entry"]
    assert set(entry) == {"fullUrl", "request", "response"}
    assert entry["fullUrl"].endswith(f"/fhir/Communication/{mid}")
    assert entry["request"] == {"method": "POST", "url": "Communication"}
    assert hook.received[0][0]["x-samenzorg-subscription"] == f"Subscription/{sid}"


def test_without_a_payload_the_notification_is_an_empty_post(world, hook):
    active(world, DOCHTER, hook, payload=None)
    world.write("Wandeling gemaakt.")
    assert deliver(world).delivered == 1
    [(headers, body)] = hook.received
    assert body == b"" and headers["x-samenzorg-subscription"].startswith("Subscription/")


def test_after_the_consent_is_revoked_no_more_notifications(world, hook):
    active(world, DOCHTER, hook)
    world.write("Eerste bericht.")
    assert deliver(world).delivered == 1
    revoked = world.http.get("/fhir/Consent/c-dochter", headers=world.system).get_json()
    revoked["status"] = "inactive"
    assert world.http.put("/fhir/Consent/c-dochter", json=revoked, headers=world.system).status_code == 200
    system_message(world)  # the daughter can no longer see (or write) the logbook
    assert deliver(world).attempted == 0
    assert len(hook.received) == 1


def test_a_receiver_down_for_a_while_then_up_gets_the_notification_once(world, hook):
    active(world, DOCHTER, hook)
    mid = world.write()
    hook.stop()
    first = deliver(world)
    assert first.retrying == 1 and "could not connect" in first.errors[0]
    hook.start()
    world.due_now()
    assert deliver(world).delivered == 1
    world.due_now()
    assert deliver(world).attempted == 0
    assert notified_ids(hook) == [mid]


def test_a_receiver_that_never_answers_puts_the_subscription_in_error_with_the_reason(world, hook):
    sid = active(world, DOCHTER, hook)
    hook.default = "hang"
    world.write()
    for _ in range(3):
        deliver(world, max_attempts=10)
        world.due_now()
    sub = read(world, DOCHTER, sid).get_json()
    assert sub["status"] == "error"
    assert "timed out" in sub["error"]
    hook.default = "ok"
    world.due_now()
    assert deliver(world).delivered == 1
    assert read(world, DOCHTER, sid).get_json()["status"] == "active"  # R4: back to active once it works


def test_a_handshake_the_endpoint_refuses_leaves_the_subscription_requested_until_it_gives_up(world, hook):
    sid = subscribe(world, DOCHTER, subscription(hook.url))
    hook.default = "503"
    deliver(world, max_attempts=2)
    assert read(world, DOCHTER, sid).get_json()["status"] == "requested"
    world.due_now()
    assert deliver(world, max_attempts=2).dead == 1
    sub = read(world, DOCHTER, sid).get_json()
    assert sub["status"] == "error" and "503" in sub["error"]


def test_a_practitioners_subscription_is_notified_only_for_patients_of_their_care_teams(world, hook):
    for r in ({"resourceType": "Practitioner", "id": "huisarts", "name": [{"family": "Bos"}]},
              {"resourceType": "CareTeam", "id": "team-moeder", "status": "active",
               "subject": {"reference": "Patient/moeder"},
               "participant": [{"member": {"reference": "Practitioner/huisarts"}}]}):
        assert world.http.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=world.system).status_code == 201
    active(world, "Practitioner/huisarts", hook, criteria="Communication")
    mid = system_message(world)
    system_message(world, patient="Patient/ander")
    deliver(world)
    assert notified_ids(hook) == [mid]


def test_an_owner_turning_a_subscription_off_stops_it_and_drops_what_was_pending(world, hook):
    sid = active(world, DOCHTER, hook)
    world.write()
    sub = read(world, DOCHTER, sid).get_json()
    sub["status"] = "off"
    resp = world.http.put(f"/fhir/Subscription/{sid}", json=sub, headers=world.headers(DOCHTER))
    assert resp.status_code == 200 and resp.get_json()["status"] == "off"
    summary = deliver(world)
    assert (summary.delivered, summary.dropped) == (0, 1)
    world.write()
    assert deliver(world).attempted == 0 and hook.received == []


def test_a_subscription_past_its_end_notifies_nobody_and_the_worker_turns_it_off(world, hook):
    import time
    from datetime import datetime, timedelta, timezone

    from gateway.subscriptions.notify import turn_off_ended

    end = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    sid = active(world, DOCHTER, hook, end=end.isoformat(timespec="milliseconds"))
    world.write("Voor het einde.")
    assert deliver(world).delivered == 1
    assert turn_off_ended(world.engine) == 0  # not yet
    time.sleep(max(0.0, (end - datetime.now(timezone.utc)).total_seconds()) + 0.1)
    world.write("Na het einde.")
    assert deliver(world).attempted == 0 and len(hook.received) == 1
    assert read(world, DOCHTER, sid).get_json()["status"] == "active"  # until the worker turns it off
    assert turn_off_ended(world.engine) == 1 and turn_off_ended(world.engine) == 0
    ended = read(world, DOCHTER, sid).get_json()
    assert ended["status"] == "off" and ended["meta"]["versionId"] == "3"  # requested, active, off


def test_a_subscription_whose_end_has_passed_is_stored_off_and_gets_no_handshake(world, hook):
    sid = subscribe(world, DOCHTER, subscription(hook.url, end="2020-01-01T00:00:00+01:00"))
    assert read(world, DOCHTER, sid).get_json()["status"] == "off"
    assert deliver(world).attempted == 0 and hook.received == []


def test_a_subscription_and_its_header_are_seen_only_by_its_owner(world, hook):
    sid = subscribe(world, DOCHTER, subscription(hook.url))
    assert read(world, DOCHTER, sid).get_json()["channel"]["header"] == ["Authorization: Bearer portal-secret"]
    assert read(world, "RelatedPerson/mentor", sid).status_code == 404
    assert read(world, None, sid).status_code == 404  # a system client is not its owner either
    assert world.http.get(f"/fhir/Subscription/{sid}/_history/1", headers=world.system).status_code == 404
    found = world.http.get("/fhir/Subscription", headers=world.system).get_json()
    assert found["total"] == 0
    mine = world.http.get("/fhir/Subscription?status=requested", headers=world.headers(DOCHTER)).get_json()
    assert [e["resource"]["id"] for e in mine["entry"]] == [sid]
    other = world.http.put(f"/fhir/Subscription/{sid}", json={**subscription(hook.url), "id": sid, "status": "off"},
                           headers=world.system)
    assert other.status_code == 404
    assert world.http.delete(f"/fhir/Subscription/{sid}", headers=world.system).status_code == 404
    assert world.http.delete(f"/fhir/Subscription/{sid}", headers=world.headers(DOCHTER)).status_code in (200, 204)


def test_a_notification_to_a_carer_is_audited_as_a_disclosure_of_the_id(world, hook):
    active(world, DOCHTER, hook)
    mid = system_message(world)
    events = world.http.get("/fhir/AuditEvent?agent=RelatedPerson/dochter&entity=Communication/" + mid,
                            headers=world.system).get_json()
    assert events["total"] == 1
    event = events["entry"][0]["resource"]
    assert "notified through Subscription/" in event["outcomeDesc"]
    assert {"reference": "Patient/moeder"} in [e.get("what") for e in event["entity"]]


BAD = [
    ({"channel": {"type": "websocket"}}, "channel.type"),
    ({"channel": {"type": "rest-hook", "endpoint": "http://zorgportaal.example/hook"}}, "channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "ftp://127.0.0.1/hook"}}, "channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://user:pw@portaal.example/hook"}}, "channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://portaal.example/", "payload": "application/xml"}},
     "channel.payload"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://portaal.example/", "header": ["X\r\nEvil: 1"]}},
     "channel.header"),
    ({"criteria": "Observation?code=1"}, "criteria"),
    ({"criteria": "AuditEvent"}, "criteria"),
    ({"criteria": "Communication?bogus=1"}, "bogus"),
    ({"criteria": "Communication?sent=gisteren"}, "sent"),
    ({"criteria": "Communication?_count=5"}, "_count"),
    ({"status": "active"}, "status"),
]


@pytest.mark.parametrize("change,named", BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_a_bad_subscription_is_refused_with_what_is_wrong_and_nothing_is_stored(world, change, named):
    from sqlalchemy import func, select

    from gateway.storage.tables import outbox, resources, subscriptions

    resource = {**subscription("https://portaal.example/hook"), **change}
    resp = world.http.post("/fhir/Subscription", json=resource, headers=world.headers(DOCHTER))
    assert 400 <= resp.status_code < 500
    assert named in resp.get_data(as_text=True)
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscriptions)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(resources)
                            .where(resources.c.res_type == "Subscription")).scalar() == 0


def test_plain_http_beyond_loopback_is_accepted_only_when_the_setting_allows_it(settings, mint, tmp_path):
    w = World(settings.with_(subscription_allow_http="true"), mint, write_config(tmp_path, ""))
    try:
        sid = subscribe(w, DOCHTER, subscription("http://portaal.intern:8080/hook"))
        assert read(w, DOCHTER, sid).get_json()["channel"]["endpoint"] == "http://portaal.intern:8080/hook"
    finally:
        w.close()


def test_the_capability_statement_lists_subscription_with_rest_hook(world):
    meta = world.http.get("/fhir/metadata").get_json()
    [sub] = [r for r in meta["rest"][0]["resource"] if r["type"] == "Subscription"]
    assert "rest-hook" in sub.get("documentation", "")
    assert {"create", "read", "update", "delete", "search-type"} <= {i["code"] for i in sub["interaction"]}


def test_the_owner_reads_the_history_of_their_subscription_and_others_do_not(world, hook):
    sid = active(world, DOCHTER, hook)
    mine = world.http.get(f"/fhir/Subscription/{sid}/_history", headers=world.headers(DOCHTER)).get_json()
    assert [e["resource"]["status"] for e in mine["entry"]] == ["active", "requested"]
    assert world.http.get(f"/fhir/Subscription/{sid}/_history", headers=world.system).status_code == 404
    assert world.http.get("/fhir/Subscription/_history", headers=world.headers("RelatedPerson/mentor")
                          ).get_json().get("total", 0) == 0


def test_an_access_preview_of_a_carer_does_not_show_the_carers_own_subscriptions(world, hook):
    subscribe(world, DOCHTER, subscription(hook.url))
    world.write()
    preview = world.http.get("/fhir/Patient/moeder/$access-preview?actor=RelatedPerson/dochter",
                             headers=world.system)
    assert preview.status_code == 200, preview.get_json()
    types = [p["part"][0]["valueCode"] for p in preview.get_json()["parameter"] if p["name"] == "type"]
    assert "Communication" in types and "Subscription" not in types
