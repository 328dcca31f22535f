"""Leak vectors seen in other FHIR servers' trackers, closed and tested."""
import pytest
from fhir_builders import actor, consent

H = {"Content-Type": "application/fhir+json"}
COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
PSY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}


def _consent(cid, who, provision):
    return consent(cid, "Patient/p", {"type": "deny", "provision": [{"type": "permit", "actor": [actor(who)],
                                                                      **provision}]})


@pytest.fixture
def world(client, anonymous, mint):
    resources = [
        {"resourceType": "Patient", "id": "p"},
        {"resourceType": "RelatedPerson", "id": "daughter", "active": True, "patient": {"reference": "Patient/p"},
         "relationship": [{"coding": [{"system": COD472, "code": "01"}]}]},
        {"resourceType": "RelatedPerson", "id": "friend", "active": True, "patient": {"reference": "Patient/p"},
         "relationship": [{"coding": [{"system": COD472, "code": "20"}]}]},
        _consent("c1", "RelatedPerson/daughter", {}),
    ]
    resources += [{"resourceType": "Communication", "id": f"m{i}", "status": "completed",
                   "subject": {"reference": "Patient/p"}, "sender": {"reference": "RelatedPerson/daughter"},
                   **({"meta": {"security": [PSY], "tag": [{"system": "urn:t", "code": "secret"}]}} if i == 0 else {})}
                  for i in range(5)]
    for r in resources:
        assert client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H).status_code == 201

    def caller(user):
        auth = {"Authorization": f"Bearer {mint('user/*.cruds', fhir_user=user)}"}
        return lambda path: anonymous.get(path if path.startswith("http") else f"/fhir/{path}", headers=auth)
    return caller("RelatedPerson/daughter"), caller("RelatedPerson/friend")


def test_a_page_link_replayed_with_another_token_shows_only_that_callers_set(world):
    daughter, friend = world
    first = daughter("Communication?_count=2").get_json()
    assert first["total"] == 5
    next_url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert len(daughter(next_url).get_json()["entry"]) == 2
    replay = friend(next_url)
    assert replay.status_code in (200, 400)
    if replay.status_code == 200:
        assert replay.get_json().get("entry", []) == [] and replay.get_json()["total"] == 0


def test_security_and_tag_searches_do_not_reveal_hidden_resources(world):
    _, friend = world
    for query in ("Communication?_security=http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY",
                  "Communication?_tag=urn:t|secret", "Communication?_security:missing=false",
                  "Communication?_id=m0", "Communication?_elements=id&_total=accurate"):
        bundle = friend(query).get_json()
        assert bundle.get("total", 0) == 0 and not [e for e in bundle.get("entry", [])
                                                    if e["search"]["mode"] != "outcome"], query


def test_include_star_and_iterate_stay_within_what_the_caller_sees(world):
    _, friend = world
    bundle = friend("RelatedPerson?_include=*&_revinclude:iterate=Communication:sender&_revinclude=Consent:actor").get_json()
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])
           if e["search"]["mode"] != "outcome"}
    assert ids == {"RelatedPerson/friend"}


def test_links_and_outcomes_never_name_hidden_ids(world):
    _, friend = world
    resp = friend("Communication?_id=m0,m1&bogus=1")
    text = resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["total"] == 0
    # The ids appear only as the caller's own query echoed back in the self link, never as results.
    assert "Communication/m0" not in text and "Communication/m1" not in text
    missing = friend("Communication/m0").get_json()["issue"][0]["diagnostics"]
    unknown = friend("Communication/nope").get_json()["issue"][0]["diagnostics"]
    assert missing.replace("m0", "X") == unknown.replace("nope", "X")


def test_elements_and_summary_do_not_widen_what_is_returned(world):
    daughter, friend = world
    assert daughter("Communication?_elements=sender&_total=accurate").get_json()["total"] == 5
    assert friend("Communication?_summary=true&_total=accurate").get_json()["total"] == 0


def test_a_malformed_consent_denies_and_says_why(client, world):
    daughter, _ = world
    broken = _consent("c1", "RelatedPerson/daughter", {"action": [{"coding": [{"system": "urn:unknown", "code": "x"}]}]})
    assert client.put("/fhir/Consent/c1", json=broken, headers=H).status_code == 200
    assert daughter("Communication?_total=accurate").get_json()["total"] == 0
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "actor", "valueReference": {"reference": "RelatedPerson/daughter"}},
        {"name": "resource", "valueReference": {"reference": "Communication/m1"}}]}
    out = client.post("/fhir/Consent/$evaluate", json=body, headers=H).get_json()
    assert next(p["valueCode"] for p in out["parameter"] if p["name"] == "decision") == "deny"
    unread = [p["valueString"] for p in out["parameter"] if p["name"] == "notUnderstood"]
    assert any("action" in line and "urn:unknown" in line and "grants nothing" in line for line in unread)


def test_a_carer_who_may_add_but_not_read_gets_no_representation_back(client, anonymous, mint):
    resources = [
        {"resourceType": "Patient", "id": "p"},
        {"resourceType": "RelatedPerson", "id": "volunteer", "active": True, "patient": {"reference": "Patient/p"}},
        _consent("c-add-only", "RelatedPerson/volunteer", {
            "action": [{"coding": [{"system": "https://samenzorg.nl/fhir/CodeSystem/consent-action",
                                    "code": "contribute"}]}],
            "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "Communication"}]}),
    ]
    for r in resources:
        assert client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H).status_code == 201
    auth = {"Authorization": f"Bearer {mint('user/*.cruds', fhir_user='RelatedPerson/volunteer')}"}
    note = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/p"},
            "sender": {"reference": "RelatedPerson/volunteer"}, "payload": [{"contentString": "Wandeling gemaakt."}]}
    resp = anonymous.post("/fhir/Communication", json=note, headers={**H, **auth, "Prefer": "return=representation"})
    assert resp.status_code == 201 and resp.data == b""
    assert resp.headers["Location"]
    created_id = resp.headers["Location"].split("/Communication/")[1].split("/")[0]
    assert anonymous.get(f"/fhir/Communication/{created_id}", headers=auth).status_code == 404


def test_everything_shows_a_carer_without_consent_nothing_of_the_record_and_totals_nothing(world):
    daughter, friend = world
    mine = friend("Patient/p/$everything?_count=1").get_json()
    assert mine["total"] == 1 and [e["resource"]["id"] for e in mine["entry"]] == ["friend"]
    assert not [link for link in mine["link"] if link["relation"] == "next"]
    hers = daughter("Patient/p/$everything?_type=Communication&_count=2").get_json()
    assert hers["total"] == 5
    # Her page link, replayed by the friend, is judged for the friend: still nothing.
    next_url = next(link["url"] for link in hers["link"] if link["relation"] == "next")
    replay = friend(next_url).get_json()
    assert replay["total"] == 0 and replay.get("entry", []) == []


def test_everything_filters_and_paging_cannot_be_used_to_probe_hidden_resources(world):
    _, friend = world
    for query in ("_type=Communication", "_since=2000-01-01T00:00:00Z&_type=Communication",
                  "start=2000&end=2100&_type=Communication", "_type=Communication&_count=0"):
        bundle = friend(f"Patient/p/$everything?{query}").get_json()
        assert bundle["total"] == 0 and not bundle.get("entry"), query
    # Search parameters are not $everything parameters: refused, never applied or silently dropped.
    for query in ("_id=m0", "_security=http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY", "_elements=id"):
        assert friend(f"Patient/p/$everything?{query}").status_code == 400, query


def test_everything_for_another_clients_patient_is_the_same_404_as_an_unknown_one(client, world):
    daughter, _ = world
    assert client.put("/fhir/Patient/q", json={"resourceType": "Patient", "id": "q"}, headers=H).status_code == 201
    hidden, unknown = daughter("Patient/q/$everything"), daughter("Patient/zz/$everything")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_data() == unknown.get_data().replace(b"zz", b"q")


def test_a_subscription_cannot_probe_or_be_told_about_what_its_owner_may_not_see(app, anonymous, mint, world):
    """Criteria naming hidden resources are accepted like any other (creating one reveals nothing),
    and a write of a resource the owner may not see enqueues no notification for them."""
    from sqlalchemy import func, select, update

    from gateway.storage.tables import outbox, subscriptions

    def subscribe(user, criteria):
        auth = {"Authorization": f"Bearer {mint('user/*.cruds', fhir_user=user)}", **H}
        resource = {"resourceType": "Subscription", "status": "requested", "reason": "probe", "criteria": criteria,
                    "channel": {"type": "rest-hook", "endpoint": "http://127.0.0.1:9/hook"}}
        resp = anonymous.post("/fhir/Subscription", json=resource, headers=auth)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()["id"]

    hidden = subscribe("RelatedPerson/friend", "Communication?_id=m0")
    unknown = subscribe("RelatedPerson/friend", "Communication?_id=m-does-not-exist")
    probe = subscribe("RelatedPerson/friend", "Communication?_security=http://terminology.hl7.org/CodeSystem/v3-ActCode|PSY")
    control = subscribe("RelatedPerson/daughter", "Communication")
    engine = app.extensions["samenzorg.engine"]
    with engine.begin() as conn:  # as if every handshake had succeeded
        conn.execute(update(subscriptions).values(status="active"))
    system = {"Authorization": f"Bearer {mint('system/*.cruds')}", **H}
    for i in range(5):
        m = anonymous.get(f"/fhir/Communication/m{i}", headers=system).get_json()
        m["status"] = "stopped"
        assert anonymous.put(f"/fhir/Communication/m{i}", json=m, headers=system).status_code == 200

    def owed(res_id):
        with engine.connect() as conn:
            sid = conn.execute(select(subscriptions.c.sid).where(subscriptions.c.res_id == res_id)).scalar_one()
            return conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.source == f"subscription:{sid}", outbox.c.action != "ping")).scalar_one()

    assert [owed(s) for s in (hidden, unknown, probe)] == [0, 0, 0]
    assert owed(control) == 5  # the daughter, whose Consent shows the logbook, is told of each
