"""Roles and the client's Consent, enforced on every way data can leave (through real HTTP)."""
import pytest
from fhir_builders import actor, consent, put_all

RP_ROLE = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
EXTRA = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1"
ROLECODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
RT = "http://hl7.org/fhir/resource-types"
ACCESS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
CONTRIBUTE = {"coding": [{"system": "https://samenzorg.nl/fhir/CodeSystem/consent-action", "code": "contribute"}]}
H = {"Content-Type": "application/fhir+json"}


def _consent(cid, who, *provisions, status="active", performer="Patient/moeder"):
    return consent(cid, "Patient/moeder", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor(who)], **p} for p in provisions]},
        status=status, dateTime="2026-03-01T10:00:00+01:00", performer=[{"reference": performer}])


def _rp(rid, *roles, family="de Vries"):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": "Patient/moeder"},
            "name": [{"family": family}],
            "relationship": [{"coding": [{"system": s, "code": c}]} for s, c in roles]}


NETWORK = [
    {"resourceType": "Patient", "id": "moeder", "name": [{"family": "de Vries", "given": ["Johanna"]}]},
    {"resourceType": "Patient", "id": "ander", "name": [{"family": "Jansen"}]},
    _rp("dochter", (EXTRA, "100001"), (ROLECODE, "DAUC")),
    _rp("buurman", (RP_ROLE, "19"), family="Bakker"),
    _rp("vriendin", (RP_ROLE, "20"), family="Smit"),
    _rp("mentor", (RP_ROLE, "15"), family="Mulder"),
    {"resourceType": "Practitioner", "id": "wijkverpleegkundige", "name": [{"family": "Visser"}]},
    {"resourceType": "Practitioner", "id": "huisarts-elders", "name": [{"family": "Peters"}]},
    {"resourceType": "PractitionerRole", "id": "rol-wv", "practitioner": {"reference": "Practitioner/wijkverpleegkundige"}},
    {"resourceType": "CareTeam", "id": "team", "status": "active", "subject": {"reference": "Patient/moeder"},
     "participant": [{"member": {"reference": "RelatedPerson/dochter"}},
                     {"member": {"reference": "RelatedPerson/buurman"}},
                     {"member": {"reference": "PractitionerRole/rol-wv"}}]},
    {"resourceType": "CarePlan", "id": "zaterdag-boodschappen", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/moeder"},
     "activity": [{"detail": {"status": "scheduled", "performer": [{"reference": "RelatedPerson/buurman"}]}}]},
    {"resourceType": "CarePlan", "id": "medicatie", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/moeder"},
     "activity": [{"detail": {"status": "scheduled", "performer": [{"reference": "RelatedPerson/dochter"}]}}]},
    {"resourceType": "CarePlan", "id": "ander-plan", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/ander"}},
    {"resourceType": "Communication", "id": "log-1", "status": "completed", "subject": {"reference": "Patient/moeder"},
     "sender": {"reference": "PractitionerRole/rol-wv"}, "sent": "2026-11-20T09:00:00+01:00",
     "basedOn": [{"reference": "CarePlan/zaterdag-boodschappen"}],
     "payload": [{"contentString": "Mevrouw sliep slecht."}]},
    _consent("c-dochter", "RelatedPerson/dochter",
             {"action": [ACCESS], "class": [{"system": RT, "code": t} for t in
                                            ("CareTeam", "CarePlan", "Communication", "Patient", "RelatedPerson")]},
             {"action": [CONTRIBUTE], "class": [{"system": RT, "code": "Communication"}]}),
    _consent("c-buurman", "RelatedPerson/buurman",
             {"action": [ACCESS], "class": [{"system": RT, "code": "CarePlan"}],
              "data": [{"meaning": "instance", "reference": {"reference": "CarePlan/zaterdag-boodschappen"}}]}),
]


@pytest.fixture
def network(client):
    return put_all(client, NETWORK)


@pytest.fixture
def as_(anonymous, mint):
    def as_(fhir_user, scope="user/*.cruds"):
        token = mint(scope, fhir_user=fhir_user, client_id="familieportaal")
        class Caller:
            def get(self, path):
                return anonymous.get(f"/fhir/{path}", headers={"Authorization": f"Bearer {token}"})

            def post(self, path, body, **headers):
                return anonymous.post(f"/fhir/{path}", json=body,
                                      headers={**H, "Authorization": f"Bearer {token}", **headers})

            def put(self, path, body, **headers):
                return anonymous.put(f"/fhir/{path}", json=body,
                                     headers={**H, "Authorization": f"Bearer {token}", **headers})

            def delete(self, path):
                return anonymous.delete(f"/fhir/{path}", headers={"Authorization": f"Bearer {token}"})

            def ids(self, query):
                resp = self.get(query)
                assert resp.status_code == 200, resp.get_json()
                bundle = resp.get_json()
                return bundle.get("total"), sorted(e["resource"]["id"] for e in bundle.get("entry", [])
                                                   if e.get("search", {}).get("mode") != "outcome")
        return Caller()
    return as_


def test_daughter_sees_what_her_mothers_consent_permits(network, as_):
    daughter = as_("RelatedPerson/dochter")
    assert daughter.get("CareTeam/team").status_code == 200
    assert daughter.get("CarePlan/medicatie").status_code == 200
    assert daughter.ids("CarePlan?_total=accurate") == (2, ["medicatie", "zaterdag-boodschappen"])
    assert daughter.ids("Communication?_total=accurate") == (1, ["log-1"])


def test_daughter_sees_nothing_of_another_client(network, as_):
    daughter = as_("RelatedPerson/dochter")
    assert daughter.get("CarePlan/ander-plan").status_code == 404
    assert daughter.get("Patient/ander").status_code == 404


def test_neighbour_sees_only_the_agreement_he_performs(network, as_):
    neighbour = as_("RelatedPerson/buurman")
    assert neighbour.get("CarePlan/zaterdag-boodschappen").status_code == 200
    assert neighbour.get("CarePlan/medicatie").status_code == 404
    assert neighbour.ids("CarePlan?_total=accurate") == (1, ["zaterdag-boodschappen"])
    assert neighbour.ids("Communication?_total=accurate") == (0, [])
    assert neighbour.get("Communication/log-1").status_code == 404


def test_friend_without_consent_learns_nothing_from_reads_totals_or_counts(network, as_):
    friend = as_("RelatedPerson/vriendin")
    existing, missing = friend.get("CarePlan/medicatie"), friend.get("CarePlan/bestaat-niet")
    assert existing.status_code == missing.status_code == 404
    assert existing.get_json()["issue"][0]["diagnostics"].replace("medicatie", "X") == \
        missing.get_json()["issue"][0]["diagnostics"].replace("bestaat-niet", "X")
    assert friend.ids("CarePlan?_total=accurate") == (0, [])
    assert friend.get("CarePlan?_summary=count").get_json()["total"] == 0
    assert friend.ids("CareTeam?_total=accurate") == (0, [])


def test_friend_can_still_read_her_own_related_person_record(network, as_):
    assert as_("RelatedPerson/vriendin").get("RelatedPerson/vriendin").status_code == 200


def test_revoking_the_neighbours_consent_takes_effect_on_his_next_request(network, as_, client):
    neighbour = as_("RelatedPerson/buurman")
    assert neighbour.get("CarePlan/zaterdag-boodschappen").status_code == 200
    revoked = {**[r for r in NETWORK if r["id"] == "c-buurman"][0], "status": "inactive"}
    assert client.put("/fhir/Consent/c-buurman", json=revoked, headers=H).status_code == 200
    assert neighbour.get("CarePlan/zaterdag-boodschappen").status_code == 404


def test_includes_never_reveal_what_the_carer_may_not_see(network, as_):
    neighbour = as_("RelatedPerson/buurman")
    bundle = neighbour.get("CarePlan?_include=CarePlan:subject&_include=CarePlan:performer").get_json()
    found = sorted(f'{e["resource"]["resourceType"]}/{e["resource"]["id"]}' for e in bundle.get("entry", []))
    assert found == ["CarePlan/zaterdag-boodschappen", "RelatedPerson/buurman"]  # not the Patient
    bundle = neighbour.get("CarePlan?_revinclude=Communication:subject").get_json()
    assert all(e["resource"]["resourceType"] != "Communication" for e in bundle.get("entry", []))


def test_chains_and_has_cannot_test_unpermitted_resources(network, as_):
    neighbour = as_("RelatedPerson/buurman")
    total, _ = neighbour.ids("CarePlan?subject:Patient.name=de%20Vries&_total=accurate")
    assert total == 0  # the Patient is not his to see, so it cannot be tested either
    has = "CarePlan?_has:Communication:based-on:status=completed&_total=accurate"
    assert neighbour.ids(has) == (0, [])  # the logbook message is not his to see, so it cannot be tested
    assert as_("RelatedPerson/dochter").ids(has) == (1, ["zaterdag-boodschappen"])


def test_daughter_may_add_to_the_logbook_as_herself_only(network, as_):
    daughter = as_("RelatedPerson/dochter")
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/moeder"},
               "sender": {"reference": "RelatedPerson/dochter"}, "payload": [{"contentString": "Medicijnen gegeven."}]}
    assert daughter.post("Communication", message).status_code == 201
    forged = {**message, "sender": {"reference": "RelatedPerson/buurman"}}
    assert daughter.post("Communication", forged).status_code == 403
    assert daughter.put("CarePlan/medicatie", {"resourceType": "CarePlan", "id": "medicatie", "status": "revoked",
                                               "intent": "plan", "subject": {"reference": "Patient/moeder"}}).status_code == 403
    assert daughter.delete("Communication/log-1").status_code == 403


def test_neighbour_may_not_add_to_the_logbook_and_learns_nothing_from_return(network, as_):
    neighbour = as_("RelatedPerson/buurman")
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/moeder"},
               "sender": {"reference": "RelatedPerson/buurman"}, "payload": [{"contentString": "Boodschappen gedaan."}]}
    assert neighbour.post("Communication", message).status_code == 403


def test_conditional_create_by_a_carer_matches_only_within_what_she_may_see(network, as_):
    neighbour = as_("RelatedPerson/buurman")
    # log-1 exists but is hidden from him: If-None-Exist must not find it (no existence oracle).
    message = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/moeder"},
               "sender": {"reference": "RelatedPerson/buurman"}}
    resp = neighbour.post("Communication", message, **{"If-None-Exist": "_id=log-1"})
    assert resp.status_code == 403  # judged as a new message he may not add, not as "found"


def test_legal_representative_manages_consent_but_the_main_carer_does_not(network, as_):
    grant = _consent("c-vriendin", "RelatedPerson/vriendin",
                     {"action": [ACCESS], "class": [{"system": RT, "code": "CareTeam"}]}, performer="RelatedPerson/mentor")
    grant.pop("id")
    assert as_("RelatedPerson/dochter").post("Consent", grant).status_code == 403
    assert as_("RelatedPerson/vriendin").post("Consent", grant).status_code == 403
    created = as_("RelatedPerson/mentor").post("Consent", grant)
    assert created.status_code == 201
    assert as_("RelatedPerson/vriendin").ids("CareTeam?_total=accurate") == (1, ["team"])


def test_patient_and_team_practitioner_manage_consent_an_outside_practitioner_does_not(network, as_):
    grant = _consent("x", "RelatedPerson/vriendin", {"action": [ACCESS], "class": [{"system": RT, "code": "Goal"}]})
    grant.pop("id")
    assert as_("Patient/moeder").post("Consent", grant).status_code == 201
    assert as_("Practitioner/wijkverpleegkundige").post("Consent", grant).status_code == 201
    assert as_("Practitioner/huisarts-elders").post("Consent", grant).status_code == 403
    assert as_("Patient/ander").post("Consent", grant).status_code == 403


def test_practitioner_sees_the_compartment_of_patients_in_their_care_team(network, as_):
    nurse = as_("Practitioner/wijkverpleegkundige")
    assert nurse.ids("CarePlan?_total=accurate") == (2, ["medicatie", "zaterdag-boodschappen"])
    assert nurse.get("CarePlan/ander-plan").status_code == 404
    outsider = as_("Practitioner/huisarts-elders")
    assert outsider.ids("CarePlan?_total=accurate") == (0, [])


def test_patient_sees_their_own_compartment_only(network, as_):
    mother = as_("Patient/moeder")
    assert mother.ids("CarePlan?_total=accurate") == (2, ["medicatie", "zaterdag-boodschappen"])
    assert mother.get("Patient/ander").status_code == 404
    assert mother.get("Practitioner/wijkverpleegkundige").status_code == 200  # in her care team
    assert mother.get("Practitioner/huisarts-elders").status_code == 404


def test_every_disclosure_and_refusal_to_a_carer_is_audited_and_the_client_can_see_it(network, as_):
    daughter = as_("RelatedPerson/dochter")
    daughter.get("CarePlan/medicatie")
    as_("RelatedPerson/vriendin").get("CarePlan/medicatie")
    mother = as_("Patient/moeder")
    resp = mother.get("AuditEvent?patient=Patient/moeder&agent=RelatedPerson/dochter")
    events = [e["resource"] for e in resp.get_json()["entry"]]
    assert events, "the daughter's read must be on record"
    event = events[0]
    assert {"who": {"reference": "RelatedPerson/dochter"}}.items() <= event["agent"][0].items() or \
        event["agent"][0]["who"] == {"reference": "RelatedPerson/dochter"}
    assert event["agent"][1]["altId"] == "familieportaal"
    whats = [e["what"]["reference"] for e in event["entity"] if "what" in e]
    assert "CarePlan/medicatie" in whats
    assert [w for w in whats if w.startswith("Consent/")] == ["Consent/c-dochter"]  # the one that decided
    friend_log = mother.get("AuditEvent?patient=Patient/moeder&agent=RelatedPerson/vriendin").get_json()
    assert [e["resource"]["outcome"] for e in friend_log["entry"]] == ["4"]


def test_each_audit_record_names_the_consent_that_decided_the_version_read(network, client, as_):
    """The deciding Consent is kept per stored version with the carer's state: a new version is
    decided on its own content, an earlier one as before."""
    label = {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}
    put_all(client, [_consent("c-dochter-r", "RelatedPerson/dochter", {
        "action": [ACCESS], "class": [{"system": RT, "code": "CarePlan"}], "securityLabel": [label]})])
    daughter = as_("RelatedPerson/dochter")
    assert daughter.get("CarePlan/medicatie").status_code == 200
    assert daughter.get("CarePlan/medicatie").status_code == 200
    plan = client.get("/fhir/CarePlan/medicatie").get_json()
    assert client.put("/fhir/CarePlan/medicatie", json={**plan, "meta": {"security": [label]}},
                      headers=H).status_code == 200
    assert daughter.get("CarePlan/medicatie").status_code == 200
    assert daughter.get("CarePlan/medicatie/_history/1").status_code == 200
    log = as_("Patient/moeder").get("AuditEvent?agent=RelatedPerson/dochter&entity=CarePlan/medicatie&_count=50")
    deciding = sorted(e["what"]["reference"] for entry in log.get_json()["entry"]
                      for e in entry["resource"]["entity"] if e["what"]["reference"].startswith("Consent/"))
    assert deciding == ["Consent/c-dochter"] * 3 + ["Consent/c-dochter-r"]


def test_a_carers_record_is_appended_and_served_as_an_audit_event_on_every_path_that_reads_them(
        network, app, client, as_):
    import orjson
    from sqlalchemy import func, select

    from gateway.storage.tables import audit_log, resources

    engine = app.extensions["samenzorg.engine"]

    def counts():
        with engine.connect() as conn:
            return (conn.execute(select(func.count()).select_from(audit_log)).scalar_one(),
                    conn.execute(select(func.count()).select_from(resources)
                                 .where(resources.c.res_type == "AuditEvent")).scalar_one())

    mine = "AuditEvent?agent=RelatedPerson/dochter&entity=CarePlan/medicatie"
    mother = as_("Patient/moeder")
    readers = [  # (who, path) each of which must find the daughter's read, settled just before it
        (mother, mine),
        (mother, "Patient?_id=moeder&_revinclude=AuditEvent:patient&_count=200"),
        (mother, "Patient?_id=moeder&_revinclude=*&_count=200"),
        (mother, "Patient/moeder/$everything?_type=AuditEvent&_count=200"),
        (client, "_history?_count=200"),
        (client, "?_type=AuditEvent&_count=200"),
    ]
    for who, path in readers:
        before = counts()
        assert as_("RelatedPerson/dochter").get("CarePlan/medicatie").status_code == 200
        appended = counts()
        assert appended == (before[0] + 1, before[1]), "a read appends one compact record, nothing else"
        with engine.connect() as conn:
            just = orjson.loads(conn.execute(select(audit_log.c.body).order_by(audit_log.c.seq.desc())).first()[0])
        got = who.get(path) if who is mother else who.get(f"/fhir/{path}")
        assert got.status_code == 200, got.get_json()
        found = [e["resource"] for e in got.get_json().get("entry", []) if e["resource"]["id"] == just["id"]]
        assert found and found[0]["agent"][0]["who"] == {"reference": "RelatedPerson/dochter"}, path
        assert counts()[0] <= 1, "settled before the read (its own record may be appended since)"
    batch = {"resourceType": "Bundle", "type": "batch",
             "entry": [{"request": {"method": "GET", "url": mine}}]}
    as_("RelatedPerson/dochter").get("CarePlan/medicatie")
    n = len(mother.get(mine).get_json()["entry"])
    as_("RelatedPerson/dochter").get("CarePlan/medicatie")
    got = mother.post("", batch).get_json()["entry"][0]["resource"]
    assert len(got["entry"]) == n + 1


def test_a_carer_settles_only_their_own_pending_records_before_reading_but_a_representative_all(network, app, as_):
    # All a carer may see of AuditEvents is their own access trail (policy.py), so other carers'
    # pending records need not become AuditEvents before a carer's $everything; theirs must.
    # (Settling everyone's made the carer who met a backlog wait for all of it.)
    from sqlalchemy import select

    from gateway.storage.tables import audit_log

    engine = app.extensions["samenzorg.engine"]

    def pending():
        with engine.connect() as conn:
            return sorted(a for a, in conn.execute(select(audit_log.c.agent)))

    daughter, neighbour, mentor = (as_(f"RelatedPerson/{r}") for r in ("dochter", "buurman", "mentor"))
    assert daughter.get("CarePlan/medicatie").status_code == 200
    assert pending() == ["RelatedPerson/dochter"]
    assert neighbour.get("Patient/moeder/$everything").status_code == 200
    assert pending() == ["RelatedPerson/buurman", "RelatedPerson/dochter"]  # hers kept, his appended
    assert daughter.get("Patient/moeder/$everything").status_code == 200
    assert pending() == ["RelatedPerson/buurman", "RelatedPerson/dochter"]  # hers settled, this one appended
    own = daughter.get("AuditEvent?_count=100").get_json()  # her Consent shows no AuditEvent: nothing
    assert own["total"] == 0 and "RelatedPerson/buurman" in pending()
    # The mentor acts as the client, who sees who looked at her record: everything is settled for her.
    got = mentor.get("AuditEvent?agent=RelatedPerson/buurman&_count=100").get_json()
    assert got["total"] == 1 and pending() == ["RelatedPerson/mentor"]


def test_audit_events_cannot_be_changed_or_deleted(network, client, as_):
    as_("RelatedPerson/dochter").get("CarePlan/medicatie")
    event = client.get("/fhir/AuditEvent").get_json()["entry"][0]["resource"]
    assert client.put(f"/fhir/AuditEvent/{event['id']}", json=event, headers=H).status_code == 405
    assert client.delete(f"/fhir/AuditEvent/{event['id']}").status_code == 405


def test_mantelzorger_is_not_a_representative_but_a_mentor_is(network, as_):
    # The mentor acts as the client: she sees the whole compartment without a Consent of her own.
    assert as_("RelatedPerson/mentor").ids("CarePlan?_total=accurate")[0] == 2
    assert as_("RelatedPerson/dochter").get("Consent/c-buurman").status_code == 404



def _evaluate(caller, actor, resource, action="access"):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "actor", "valueReference": {"reference": actor}},
        {"name": "action", "valueCode": action},
        {"name": "resource", "valueReference": {"reference": resource}}]}
    return caller.post("Consent/$evaluate", body)


def _param(params, name):
    return [p for p in params["parameter"] if p["name"] == name]


def test_evaluate_says_which_consent_and_provision_decided(network, as_):
    mother = as_("Patient/moeder")
    resp = _evaluate(mother, "RelatedPerson/buurman", "CarePlan/zaterdag-boodschappen")
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert _param(out, "decision")[0]["valueCode"] == "permit"
    assert _param(out, "consent")[0]["valueReference"]["reference"] == "Consent/c-buurman"
    assert _param(out, "provision")[0]["valueString"] == "provision.provision[0]"
    denied = _evaluate(mother, "RelatedPerson/buurman", "CarePlan/medicatie").get_json()
    assert _param(denied, "decision")[0]["valueCode"] == "deny"
    assert _param(denied, "explanation")
    contribute = _evaluate(mother, "RelatedPerson/dochter", "Communication/log-1", "contribute").get_json()
    assert _param(contribute, "decision")[0]["valueCode"] == "permit"


def test_evaluate_and_preview_are_for_those_who_decide_only(network, as_):
    assert _evaluate(as_("RelatedPerson/mentor"), "RelatedPerson/buurman", "CarePlan/medicatie").status_code == 200
    assert _evaluate(as_("Practitioner/wijkverpleegkundige"), "RelatedPerson/buurman",
                     "CarePlan/medicatie").status_code == 200
    for outsider in ("RelatedPerson/dochter", "RelatedPerson/vriendin", "Practitioner/huisarts-elders", "Patient/ander"):
        assert _evaluate(as_(outsider), "RelatedPerson/buurman", "CarePlan/medicatie").status_code == 403, outsider
        assert as_(outsider).get("Patient/moeder/$access-preview?actor=RelatedPerson/buurman").status_code == 403
    # The carer himself may not preview his view through the client's eyes either (only $evaluate, below).
    assert as_("RelatedPerson/buurman").get("Patient/moeder/$access-preview?actor=RelatedPerson/buurman"
                                            ).status_code == 403
    # An unknown carer id answers the same as a forbidden one: no existence oracle.
    assert _evaluate(as_("Patient/ander"), "RelatedPerson/bestaat-niet", "CarePlan/medicatie").status_code == 403


def _new_message(sender):
    return {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/moeder"},
            "sender": {"reference": sender}, "payload": [{"contentString": "?"}]}


def test_a_carer_may_ask_whether_he_may_add_to_the_logbook_and_learns_the_verdict_only(network, as_):
    # A portal asks before the carer types: the answer is the verdict alone, never the reasons
    # (they would describe the client's Consents, which the carer may not read).
    for who, verdict in (("RelatedPerson/dochter", "permit"), ("RelatedPerson/buurman", "deny")):
        resp = as_(who).post("Consent/$evaluate", _ask_to_write(who))
        assert resp.status_code == 200, resp.get_json()
        assert resp.get_json()["parameter"] == [{"name": "decision", "valueCode": verdict}]
    # Asking about a stored resource he may not see stays a 404, as a read would be.
    assert _evaluate(as_("RelatedPerson/buurman"), "RelatedPerson/buurman", "CarePlan/medicatie").status_code == 404


def _ask_to_write(who):
    return {"resourceType": "Parameters", "parameter": [
        {"name": "actor", "valueReference": {"reference": who}}, {"name": "action", "valueCode": "contribute"},
        {"name": "resource", "resource": _new_message(who)}]}


def test_each_verdict_a_carer_asks_about_himself_is_on_the_clients_audit_log(network, as_):
    # Each verdict tells something of the client's Consents (asked often enough, what they deny).
    def asked():
        log = as_("Patient/moeder").get("AuditEvent?patient=Patient/moeder&agent=RelatedPerson/buurman"
                                        "&_count=100").get_json()
        return [ev["resource"] for ev in log.get("entry", [])
                if any(e.get("what", {}).get("reference") == "Consent/c-buurman" for e in ev["resource"]["entity"])]

    before = len(asked())
    for _ in range(2):
        assert as_("RelatedPerson/buurman").post("Consent/$evaluate", _ask_to_write("RelatedPerson/buurman")).status_code == 200
    assert len(asked()) == before + 2


def test_access_preview_lists_exactly_what_the_carer_would_see(network, as_):
    mother = as_("Patient/moeder")
    preview = mother.get("Patient/moeder/$access-preview?actor=RelatedPerson/buurman").get_json()
    by_type = {p["part"][0]["valueCode"]: p["part"] for p in _param(preview, "type")}
    assert set(by_type) == {"CarePlan", "RelatedPerson"}
    assert by_type["CarePlan"][1]["valueInteger"] == 1
    assert by_type["CarePlan"][2]["valueReference"]["reference"] == "CarePlan/zaterdag-boodschappen"
    neighbour = as_("RelatedPerson/buurman")
    assert neighbour.ids("CarePlan?_total=accurate") == (1, ["zaterdag-boodschappen"])
    daughter = mother.get("Patient/moeder/$access-preview?actor=RelatedPerson/dochter").get_json()
    counts = {p["part"][0]["valueCode"]: p["part"][1]["valueInteger"] for p in _param(daughter, "type")}
    assert counts["CarePlan"] == 2 and counts["Communication"] == 1 and "Consent" not in counts
    mentor = mother.get("Patient/moeder/$access-preview?actor=RelatedPerson/mentor").get_json()
    assert _param(mentor, "legalRepresentative")[0]["valueBoolean"] is True


def test_a_practitioners_access_is_on_the_clients_own_audit_log(network, as_):
    as_("Practitioner/wijkverpleegkundige").get("CarePlan/medicatie")
    assert as_("Practitioner/huisarts-elders").get("CarePlan/medicatie").status_code == 404
    mother = as_("Patient/moeder")
    nurse_log = mother.get("AuditEvent?patient=Patient/moeder&agent=Practitioner/wijkverpleegkundige").get_json()
    assert [e["resource"]["outcome"] for e in nurse_log["entry"]] == ["0"]
    # An outsider's failed read is recorded, but against no client: it must not tell anyone
    # (the client included) whose record the id they tried belongs to.
    outsider_log = mother.get("AuditEvent?patient=Patient/moeder&agent=Practitioner/huisarts-elders").get_json()
    assert outsider_log.get("entry", []) == []
    recorded = network.get("/fhir/AuditEvent?agent=Practitioner/huisarts-elders").get_json()["entry"]
    assert [e["resource"]["outcome"] for e in recorded] == ["4"]
    assert "CarePlan/medicatie" not in str(recorded) and "Patient/moeder" not in str(recorded)


def test_team_practitioner_writes_for_their_clients_only(network, as_):
    nurse = as_("Practitioner/wijkverpleegkundige")
    plan = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
            "subject": {"reference": "Patient/moeder"}, "description": "Steunkousen aantrekken"}
    assert nurse.post("CarePlan", plan).status_code == 201
    assert nurse.post("CarePlan", {**plan, "subject": {"reference": "Patient/ander"}}).status_code == 403
    assert as_("Practitioner/huisarts-elders").post("CarePlan", plan).status_code == 403


def test_the_client_adds_to_her_own_logbook_but_edits_no_care_plan(network, as_):
    mother = as_("Patient/moeder")
    note = {"resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/moeder"},
            "sender": {"reference": "Patient/moeder"}, "payload": [{"contentString": "Ik voel me goed."}]}
    assert mother.post("Communication", note).status_code == 201
    assert mother.delete("CarePlan/medicatie").status_code == 403


def test_patient_scopes_confine_a_practitioners_app_to_the_launch_client(network, client, anonymous, mint):
    other = {"resourceType": "CareTeam", "id": "team-ander", "status": "active", "subject": {"reference": "Patient/ander"},
             "participant": [{"member": {"reference": "Practitioner/wijkverpleegkundige"}}]}
    assert client.put("/fhir/CareTeam/team-ander", json=other, headers=H).status_code == 201

    def plans(token):
        bundle = anonymous.get("/fhir/CarePlan", headers={"Authorization": f"Bearer {token}"}).get_json()
        return sorted(e["resource"]["id"] for e in bundle.get("entry", []))

    nurse = "Practitioner/wijkverpleegkundige"
    assert plans(mint("user/*.rs", fhir_user=nurse)) == ["ander-plan", "medicatie", "zaterdag-boodschappen"]
    launched = mint("patient/*.rs", fhir_user=nurse, patient="ander")
    assert plans(launched) == ["ander-plan"]
    assert plans(mint("patient/*.rs", fhir_user=nurse)) == []  # no launch context: no client


def test_a_practitioners_access_preview_is_on_the_clients_audit_log(network, as_):
    nurse = as_("Practitioner/wijkverpleegkundige")
    assert nurse.get("Patient/moeder/$access-preview?actor=RelatedPerson/buurman").status_code == 200
    log = as_("Patient/moeder").get("AuditEvent?patient=Patient/moeder&agent=Practitioner/wijkverpleegkundige")
    entities = [e["what"]["reference"] for ev in log.get_json()["entry"] for e in ev["resource"]["entity"]
                if "what" in e]
    assert "CarePlan/zaterdag-boodschappen" in entities


def _preview_with(caller, actor, proposed):
    return caller.post("Patient/moeder/$access-preview", {"resourceType": "Parameters", "parameter": [
        {"name": "actor", "valueReference": {"reference": actor}}, {"name": "consent", "resource": proposed}]})


def test_access_preview_shows_what_a_carer_would_see_once_a_proposed_consent_is_saved(network, as_):
    mother = as_("Patient/moeder")
    stored = mother.get("Consent/c-buurman").get_json()
    proposed = {**stored, "provision": {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/buurman")], "action": [ACCESS],
         "class": [{"system": RT, "code": "Communication"}]}]}}
    resp = _preview_with(mother, "RelatedPerson/buurman", proposed)
    assert resp.status_code == 200, resp.get_json()
    counts = {p["part"][0]["valueCode"]: p["part"][1]["valueInteger"] for p in _param(resp.get_json(), "type")}
    assert counts.get("Communication") == 1 and "CarePlan" not in counts  # the change, exactly
    # Nothing was saved: the neighbour and the stored preview are as before.
    assert mother.get("Consent/c-buurman").get_json()["meta"]["versionId"] == stored["meta"]["versionId"]
    assert as_("RelatedPerson/buurman").ids("Communication?_total=accurate") == (0, [])
    now = mother.get("Patient/moeder/$access-preview?actor=RelatedPerson/buurman").get_json()
    assert {p["part"][0]["valueCode"] for p in _param(now, "type")} == {"CarePlan", "RelatedPerson"}


def test_a_proposed_consent_must_be_this_clients_and_only_those_who_decide_may_preview_it(network, as_):
    mother = as_("Patient/moeder")
    stored = mother.get("Consent/c-buurman").get_json()
    elsewhere = {**stored, "patient": {"reference": "Patient/ander"}}
    assert _preview_with(mother, "RelatedPerson/buurman", elsewhere).status_code == 400
    unknown = {**stored, "id": "c-bestaat-niet"}
    assert _preview_with(mother, "RelatedPerson/buurman", unknown).status_code == 400
    assert _preview_with(mother, "RelatedPerson/buurman", {"resourceType": "Patient"}).status_code == 400
    for outsider in ("RelatedPerson/buurman", "RelatedPerson/dochter", "Patient/ander"):
        assert _preview_with(as_(outsider), "RelatedPerson/buurman", stored).status_code == 403, outsider


def test_a_proposed_first_consent_for_someone_without_one_is_previewed_beside_the_others(network, as_):
    mother = as_("Patient/moeder")
    first = _consent(None, "RelatedPerson/vriendin", {"action": [ACCESS], "class": [{"system": RT, "code": "CarePlan"}]})
    del first["id"]
    resp = _preview_with(mother, "RelatedPerson/vriendin", first)
    assert resp.status_code == 200, resp.get_json()
    counts = {p["part"][0]["valueCode"]: p["part"][1]["valueInteger"] for p in _param(resp.get_json(), "type")}
    assert counts["CarePlan"] == 2
    assert as_("RelatedPerson/vriendin").ids("CarePlan?_total=accurate") == (0, [])  # nothing was stored


def test_a_practitioners_search_is_audited_in_the_clients_record_whatever_elements_it_asked_for(network, as_):
    """The AuditEvent names whose record was shown from the resources as stored, not from what
    `_elements` left of them in the answer (no subject there)."""
    nurse = as_("Practitioner/wijkverpleegkundige")
    shown = nurse.get("Communication?_elements=status").get_json()
    assert [e["resource"]["id"] for e in shown["entry"]] == ["log-1"] and "subject" not in shown["entry"][0]["resource"]
    log = as_("Patient/moeder").get("AuditEvent?patient=Patient/moeder&agent=Practitioner/wijkverpleegkundige")
    entities = {e["what"]["reference"] for ev in log.get_json().get("entry", []) for e in ev["resource"]["entity"]
                if "what" in e}
    assert "Communication/log-1" in entities
