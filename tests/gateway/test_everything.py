"""Patient/{id}/$everything: the client's record in one paged searchset, as far as the caller may
see it (the same access clause as search), through real HTTP, per role."""
import base64
from urllib.parse import urlsplit

import pytest
from fhir_builders import actor, consent, put_all

RP_ROLE = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
RT = "http://hl7.org/fhir/resource-types"
ACCESS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
H = {"Content-Type": "application/fhir+json"}
DEFINITION = "http://hl7.org/fhir/OperationDefinition/Patient-everything"


def _consent(cid, who, *types, **provision):
    return consent(cid, "Patient/moeder", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor(who)], "action": [ACCESS],
         "class": [{"system": RT, "code": t} for t in types], **provision}]},
        dateTime="2026-03-01T10:00:00+01:00")


def _rp(rid, code, patient="Patient/moeder"):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": patient},
            "relationship": [{"coding": [{"system": RP_ROLE, "code": code}]}]}


def _plan(pid, patient="Patient/moeder", **extra):
    return {"resourceType": "CarePlan", "id": pid, "status": "active", "intent": "plan",
            "subject": {"reference": patient}, **extra}


def _message(mid, sender, sent, **extra):
    return {"resourceType": "Communication", "id": mid, "status": "completed", "subject": {"reference": "Patient/moeder"},
            "sender": {"reference": sender}, "sent": sent, **extra}


NETWORK = [
    {"resourceType": "Patient", "id": "moeder", "name": [{"family": "de Vries"}]},
    {"resourceType": "Patient", "id": "ander", "name": [{"family": "Jansen"}]},
    _rp("dochter", "01"), _rp("buurman", "19"), _rp("mentor", "15"), _rp("zoon-ander", "01", "Patient/ander"),
    {"resourceType": "Organization", "id": "thuiszorg", "name": "Thuiszorg West"},
    {"resourceType": "Organization", "id": "elders", "name": "Elders BV"},
    {"resourceType": "Practitioner", "id": "wijkverpleegkundige"},
    {"resourceType": "Practitioner", "id": "huisarts-elders"},
    {"resourceType": "Practitioner", "id": "huisarts-ander"},
    {"resourceType": "PractitionerRole", "id": "rol-wv", "practitioner": {"reference": "Practitioner/wijkverpleegkundige"},
     "organization": {"reference": "Organization/thuiszorg"}},
    {"resourceType": "CareTeam", "id": "team", "status": "active", "subject": {"reference": "Patient/moeder"},
     "managingOrganization": [{"reference": "Organization/thuiszorg"}],
     "participant": [{"member": {"reference": "RelatedPerson/dochter"}},
                     {"member": {"reference": "PractitionerRole/rol-wv"}}]},
    {"resourceType": "CareTeam", "id": "team-ander", "status": "active", "subject": {"reference": "Patient/ander"},
     "participant": [{"member": {"reference": "Practitioner/huisarts-ander"}}]},
    _plan("plan-winter", period={"start": "2026-01-01", "end": "2026-03-31"}),
    _plan("plan-zomer", period={"start": "2026-06-01"}),
    _plan("plan-ongedateerd"),
    _plan("plan-ander", "Patient/ander"),
    {"resourceType": "Goal", "id": "doel", "lifecycleStatus": "active", "subject": {"reference": "Patient/moeder"},
     "description": {"text": "Zelf boodschappen doen"}, "startDate": "2026-02-01"},
    _message("log-wv", "PractitionerRole/rol-wv", "2026-11-20T09:00:00+01:00"),
    # A carer's message names a practitioner: that does not put him in the client's record.
    _message("log-dochter", "RelatedPerson/dochter", "2026-05-01T09:00:00+02:00",
             recipient=[{"reference": "Practitioner/huisarts-elders"}]),
    {"resourceType": "Provenance", "id": "herkomst", "target": [{"reference": "Patient/moeder"}],
     "recorded": "2026-02-01T10:00:00+01:00", "occurredDateTime": "2026-02-01T10:00:00+01:00",
     "agent": [{"who": {"reference": "Organization/thuiszorg"}}]},
    _consent("c-dochter", "RelatedPerson/dochter", "Patient", "CarePlan", "Communication", "Practitioner"),
    _consent("c-buurman", "RelatedPerson/buurman", "CarePlan",
             data=[{"meaning": "instance", "reference": {"reference": "CarePlan/plan-zomer"}}]),
]
MOEDER_RECORD = {
    "Patient/moeder", "RelatedPerson/dochter", "RelatedPerson/buurman", "RelatedPerson/mentor", "CareTeam/team",
    "CarePlan/plan-winter", "CarePlan/plan-zomer", "CarePlan/plan-ongedateerd", "Goal/doel",
    "Communication/log-wv", "Communication/log-dochter", "Provenance/herkomst", "Consent/c-dochter",
    "Consent/c-buurman", "PractitionerRole/rol-wv", "Practitioner/wijkverpleegkundige", "Organization/thuiszorg",
}
DIRECTORY = ("Practitioner", "PractitionerRole", "Organization")


@pytest.fixture
def network(client):
    return put_all(client, NETWORK)


@pytest.fixture
def as_(anonymous, mint):
    def as_(fhir_user=None, scope="user/*.cruds"):
        token = mint(scope, fhir_user=fhir_user, client_id="familieportaal")
        auth = {"Authorization": f"Bearer {token}"}

        class Caller:
            def get(self, path):
                return anonymous.get(path if path.startswith("http") else f"/fhir/{path}", headers=auth)

            def post(self, path, body):
                return anonymous.post(f"/fhir/{path}", json=body, headers={**H, **auth})
        return Caller()
    return as_


def _ref(entry):
    return f"{entry['resource']['resourceType']}/{entry['resource']['id']}"


def _pages(caller, path):
    """Every page of a paged answer, following `next`."""
    pages, url = [], path
    while url:
        resp = caller.get(url)
        assert resp.status_code == 200, resp.get_json()
        pages.append(resp.get_json())
        url = next((link["url"] for link in pages[-1]["link"] if link["relation"] == "next"), None)
    return pages


def _everything(caller, pid="moeder", query="_count=500"):
    pages = _pages(caller, f"Patient/{pid}/$everything?{query}")
    refs = [_ref(e) for page in pages for e in page.get("entry", [])]
    assert len(refs) == len(set(refs)), "an entry shown twice"
    assert all(page["type"] == "searchset" and page["total"] == len(refs) for page in pages)
    return set(refs)


# -- per role --------------------------------------------------------------------------------

def test_a_system_client_gets_the_whole_record_and_the_directory_it_points_to(network, as_):
    bundle = as_(scope="system/*.rs").get("Patient/moeder/$everything?_count=500").get_json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert {_ref(e) for e in bundle["entry"]} == MOEDER_RECORD
    assert bundle["entry"][0]["resource"]["id"] == "moeder"
    modes = {_ref(e): e["search"]["mode"] for e in bundle["entry"]}
    assert {r for r, m in modes.items() if m == "include"} == {r for r in MOEDER_RECORD if r.startswith(DIRECTORY)}


def test_a_practitioner_gets_the_record_of_a_client_in_their_care_team_only(network, as_):
    nurse = as_("Practitioner/wijkverpleegkundige")
    assert _everything(nurse) == MOEDER_RECORD
    hidden = nurse.get("Patient/ander/$everything")
    assert hidden.status_code == 404


def test_a_carer_with_a_partial_consent_gets_only_the_permitted_kinds(network, as_):
    daughter = _everything(as_("RelatedPerson/dochter"))
    assert daughter == {"Patient/moeder", "CarePlan/plan-winter", "CarePlan/plan-zomer", "CarePlan/plan-ongedateerd",
                        "Communication/log-wv", "Communication/log-dochter", "Practitioner/wijkverpleegkundige",
                        "RelatedPerson/dochter"}
    # The neighbour may see one care plan, not even the Patient: he still gets what he may see.
    assert _everything(as_("RelatedPerson/buurman")) == {"CarePlan/plan-zomer", "RelatedPerson/buurman"}


def test_a_carer_without_any_consent_gets_an_empty_record_not_another_clients(network, as_):
    son = as_("RelatedPerson/zoon-ander")
    assert _everything(son, "ander") == {"RelatedPerson/zoon-ander"}
    assert son.get("Patient/moeder/$everything").status_code == 404


def test_the_client_and_their_representative_get_the_whole_compartment(network, as_):
    for who in ("Patient/moeder", "RelatedPerson/mentor"):
        assert _everything(as_(who)) == MOEDER_RECORD, who
        assert as_(who).get("Patient/ander/$everything").status_code == 404


@pytest.fixture
def said(monkeypatch):
    """What `Policy.confines_to` answered, in order."""
    from gateway.policy import Policy

    answers, confines_to = [], Policy.confines_to
    monkeypatch.setattr(Policy, "confines_to", lambda self, pid: answers.append(confines_to(self, pid)) or answers[-1])
    return answers


@pytest.mark.parametrize("who, confined", [("RelatedPerson/dochter", True), ("RelatedPerson/buurman", True),
                                           ("RelatedPerson/mentor", True), ("Patient/moeder", True),
                                           ("Practitioner/wijkverpleegkundige", True), (None, False)])
def test_a_clause_within_the_clients_record_stands_for_the_record_with_the_same_answer(network, as_, monkeypatch,
                                                                                          said, who, confined):
    # A carer's, representative's, client's or (one client's) practitioner's access clause is built on
    # this client's record lookups, so the statement leaves out the record's own; where a type is
    # not limited (the directory, for a practitioner; everything, for a system client) it stays.
    from gateway.policy import Policy

    caller = as_(who) if who else as_(scope="system/*.rs")
    answer = _everything(caller)
    assert said and set(said) == {confined}
    monkeypatch.setattr(Policy, "confines_to", lambda self, pid: False)
    again = _everything(caller)
    # The same record; of its AuditEvents, those of the first answer and the one recording it.
    audits = {r for r in answer if r.startswith("AuditEvent/")}
    assert again - {r for r in again if r.startswith("AuditEvent/")} == answer - audits
    assert audits <= again


def test_a_practitioner_of_two_clients_gets_each_clients_record_apart(network, client, as_, said):
    # Their clause covers both clients' compartments: the record's own lookups must stay.
    put_all(client, [{"resourceType": "CareTeam", "id": "team-ander-wv", "status": "active",
                      "subject": {"reference": "Patient/ander"},
                      "participant": [{"member": {"reference": "Practitioner/wijkverpleegkundige"}}]}])
    nurse = as_("Practitioner/wijkverpleegkundige")
    assert _everything(nurse) == MOEDER_RECORD
    assert {r for r in _everything(nurse, "ander") if not r.startswith(DIRECTORY)} == {
        "Patient/ander", "RelatedPerson/zoon-ander", "CareTeam/team-ander", "CareTeam/team-ander-wv",
        "CarePlan/plan-ander"}
    assert said and not any(said)


def test_an_unknown_and_a_hidden_patient_give_the_same_404(network, as_):
    for who in ("Practitioner/wijkverpleegkundige", "RelatedPerson/dochter", "Patient/moeder"):
        caller = as_(who)
        hidden, unknown = caller.get("Patient/ander/$everything"), caller.get("Patient/bestaat-niet/$everything")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.get_data().replace(b"ander", b"X") == unknown.get_data().replace(b"bestaat-niet", b"X")
        def headers(resp):
            return {k: v for k, v in resp.headers.items() if k not in ("X-Request-ID", "Content-Length")}
        assert headers(hidden) == headers(unknown)


# -- paging and parameters ----------------------------------------------------------------------

def test_paging_follows_next_to_the_end_without_duplicates_or_gaps(network, as_):
    system = as_(scope="system/*.rs")
    pages = _pages(system, "Patient/moeder/$everything?_count=4")
    assert len(pages) == 5 and all(len(p.get("entry", [])) <= 4 for p in pages)
    assert [len(p.get("entry", [])) for p in pages[:-1]] == [4, 4, 4, 4]
    refs = [_ref(e) for p in pages for e in p.get("entry", [])]
    assert len(refs) == len(set(refs)) and set(refs) == MOEDER_RECORD
    assert all(p["total"] == len(MOEDER_RECORD) for p in pages)
    # A page link carries only the signed cursor; edited, it is refused.
    link = next(link["url"] for link in pages[0]["link"] if link["relation"] == "next")
    assert urlsplit(link).query.startswith("_cursor=")
    assert system.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")).status_code == 400
    assert system.get(link.replace("moeder", "ander")).status_code == 400


def test_a_carers_page_link_shows_another_caller_only_their_own_set(network, as_):
    pages = _pages(as_("RelatedPerson/dochter"), "Patient/moeder/$everything?_count=2")
    link = next(link["url"] for link in pages[0]["link"] if link["relation"] == "next")
    replay = as_("RelatedPerson/buurman").get(link)
    assert replay.status_code == 200
    assert {_ref(e) for e in replay.get_json().get("entry", [])} <= {"CarePlan/plan-zomer", "RelatedPerson/buurman"}
    assert replay.get_json()["total"] == 2


def test_type_limits_the_answer_to_the_types_asked_for(network, as_):
    system = as_(scope="system/*.rs")
    assert _everything(system, query="_type=CarePlan,Organization&_type=Goal") == {
        "CarePlan/plan-winter", "CarePlan/plan-zomer", "CarePlan/plan-ongedateerd", "Organization/thuiszorg",
        "Goal/doel"}
    assert _everything(as_("RelatedPerson/dochter"), query="_type=Goal,Patient") == {"Patient/moeder"}


def test_since_returns_what_changed_at_or_after_that_instant(network, client, as_):
    plan = client.get("/fhir/CarePlan/plan-winter").get_json()
    changed = client.put("/fhir/CarePlan/plan-winter", json={**plan, "status": "completed"}, headers=H).get_json()
    since = changed["meta"]["lastUpdated"]
    every = client.get("/fhir/Patient/moeder/$everything?_count=500").get_json()["entry"]
    expected = {_ref(e) for e in every if e["resource"]["meta"]["lastUpdated"] >= since}
    assert "CarePlan/plan-winter" in expected and len(expected) < len(MOEDER_RECORD)
    assert _everything(as_(scope="system/*.rs"), query=f"_since={since.replace('+', '%2B')}") == expected


def test_start_and_end_filter_care_by_its_care_date_and_keep_the_undated(network, as_):
    system = as_(scope="system/*.rs")
    found = _everything(system, query="start=2026-04-01&end=2026-12-31&_count=500")
    # Out of range: the winter plan (Jan-Mar), the goal (started in Feb), the Consents (signed in March),
    # the Provenance (February). Kept: what overlaps, what has no care date, and the undated kinds.
    assert found == MOEDER_RECORD - {"CarePlan/plan-winter", "Goal/doel", "Consent/c-dochter", "Consent/c-buurman",
                                     "Provenance/herkomst"}
    assert "CarePlan/plan-winter" in _everything(system, query="start=2026-03")
    assert "CarePlan/plan-zomer" not in _everything(system, query="end=2026-05-31")
    assert "Communication/log-dochter" in _everything(system, query="start=2026-05-01&end=2026-05-01")


def test_post_with_a_parameters_body_answers_as_get(network, as_):
    daughter = as_("RelatedPerson/dochter")
    body = {"resourceType": "Parameters", "parameter": [{"name": "_type", "valueCode": "CarePlan"},
                                                         {"name": "start", "valueDate": "2026-05"},
                                                         {"name": "_count", "valueInteger": 1}]}
    first = daughter.post("Patient/moeder/$everything", body)
    assert first.status_code == 200
    pages = [first.get_json()]
    nxt = next(link["url"] for link in pages[0]["link"] if link["relation"] == "next")
    pages += _pages(daughter, nxt)
    refs = {_ref(e) for p in pages for e in p.get("entry", [])}
    assert refs == _everything(daughter, query="_type=CarePlan&start=2026-05") == {
        "CarePlan/plan-zomer", "CarePlan/plan-ongedateerd"}


@pytest.mark.parametrize("query", [
    "start=2026-13-01", "start=gisteren", "end=2026-02-30", "start=2026-05-01T10:00:00Z", "start=2026&start=2027",
    "start=2026-06-01&end=2026-05-01", "_since=2026-01-01", "_since=2026-01-01T10:00:00", "_since=nu",
    "_type=Foo", "_type=Subscription", "_type=CarePlan,", "_count=-1", "_count=veel", "_count=1.5",
    "onbekend=1", "_sort=_id", "_include=CarePlan:subject",
])
def test_bad_parameters_are_a_400_operation_outcome(network, as_, query):
    resp = as_(scope="system/*.rs").get(f"Patient/moeder/$everything?{query}")
    assert resp.status_code == 400, query
    assert resp.get_json()["resourceType"] == "OperationOutcome"


def test_a_post_body_that_is_not_parameters_is_a_400(network, as_):
    system = as_(scope="system/*.rs")
    assert system.post("Patient/moeder/$everything", {"resourceType": "Patient"}).status_code == 400
    assert system.post("Patient/moeder/$everything", {"resourceType": "Parameters", "parameter": [
        {"name": "_count", "valueBoolean": True}]}).status_code == 400


def test_count_is_capped_like_search_and_zero_gives_only_the_total(network, as_):
    system = as_(scope="system/*.rs")
    capped = system.get("Patient/moeder/$everything?_count=100000").get_json()
    assert "_count=500" in capped["link"][0]["url"]
    only_total = system.get("Patient/moeder/$everything?_count=0").get_json()
    assert only_total["total"] == len(MOEDER_RECORD) and "entry" not in only_total


# -- audit and capability ------------------------------------------------------------------------

def test_a_carers_everything_is_audited_with_what_it_disclosed(network, client, as_):
    shown = _everything(as_("RelatedPerson/dochter"), query="_type=CarePlan")
    events = client.get("/fhir/AuditEvent?agent=RelatedPerson/dochter&_count=100").get_json()["entry"]
    assert len(events) == 1
    event = events[0]["resource"]
    entities = {e["what"]["reference"] for e in event["entity"] if "what" in e}
    assert shown <= entities and "Patient/moeder" in entities and "Consent/c-dochter" in entities
    query = next(e for e in event["entity"] if "query" in e)["query"]
    assert base64.b64decode(query).decode() == "_type=CarePlan&_count=20"
    assert event["subtype"][0]["code"] == "operation"


def test_a_refused_everything_is_recorded_against_the_callers_own_client_only(network, client, as_):
    assert as_("RelatedPerson/zoon-ander").get("Patient/moeder/$everything").status_code == 404
    events = client.get("/fhir/AuditEvent?agent=RelatedPerson/zoon-ander").get_json()["entry"]
    assert [e["resource"]["outcome"] for e in events] == ["4"]
    assert "moeder" not in str(events)


def test_the_capability_statement_lists_everything_on_patient_with_the_official_definition(client):
    statement = client.get("/fhir/metadata").get_json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    assert {"name": "everything", "definition": DEFINITION} in patient["operation"]
    others = [r for r in statement["rest"][0]["resource"] if r["type"] != "Patient"]
    assert not any(op["name"] == "everything" for r in others for op in r.get("operation", []))


# -- leaks -----------------------------------------------------------------------------------------

SEARCHABLE = ("Patient", "RelatedPerson", "CareTeam", "CarePlan", "Goal", "Consent", "Communication",
              "Provenance", "Practitioner", "PractitionerRole", "Organization")


def _searched(caller, rtype):
    refs = set()
    for page in _pages(caller, f"{rtype}?_count=500"):
        refs |= {_ref(e) for e in page.get("entry", []) if e["search"]["mode"] == "match"}
    return refs


@pytest.mark.parametrize("carer", ["RelatedPerson/dochter", "RelatedPerson/buurman"])
def test_a_carers_everything_is_the_union_of_her_permitted_searches_and_nothing_forbidden(network, client, as_,
                                                                                            carer):
    caller = as_(carer)
    everything = _everything(caller, query=f"_type={','.join(SEARCHABLE)}&_count=3")
    union = set().union(*(_searched(caller, t) for t in SEARCHABLE))
    assert everything == union
    # Nothing forbidden: each resource shown is one the client's Consent lets her read, one by one.
    for ref in everything:
        assert caller.get(ref).status_code == 200, ref
    forbidden = MOEDER_RECORD - everything
    assert forbidden and all(caller.get(ref).status_code == 404 for ref in forbidden)


def test_a_carer_sees_her_own_access_trail_in_everything_never_that_of_others(network, client, as_):
    c = _consent("c-dochter", "RelatedPerson/dochter", "Patient", "AuditEvent")
    assert client.put("/fhir/Consent/c-dochter", json=c, headers=H).status_code == 200
    assert as_("Practitioner/wijkverpleegkundige").get("Patient/moeder/$everything").status_code == 200
    assert as_("RelatedPerson/buurman").get("CarePlan").status_code == 200
    daughter = as_("RelatedPerson/dochter")
    assert daughter.get("Patient/moeder").status_code == 200  # her own first disclosure, audited
    trail = client.get("/fhir/AuditEvent?patient=Patient/moeder&_count=100").get_json()["entry"]
    agents = {e["resource"]["id"]: e["resource"]["agent"][0]["who"]["reference"] for e in trail}
    assert set(agents.values()) == {"Practitioner/wijkverpleegkundige", "RelatedPerson/buurman",
                                    "RelatedPerson/dochter"}
    own = {f"AuditEvent/{i}" for i, who in agents.items() if who == "RelatedPerson/dochter"}
    shown = _everything(daughter, query="_type=AuditEvent")
    assert shown and shown <= own | {f"AuditEvent/{i}" for i in _new_events(client, agents)}
    assert all(agents.get(ref.split("/")[1], "RelatedPerson/dochter") == "RelatedPerson/dochter" for ref in shown)
    # Search and read answer the same: the others' events stay hidden.
    searched = _searched(daughter, "AuditEvent")
    assert not {f"AuditEvent/{i}" for i, who in agents.items() if who != "RelatedPerson/dochter"} & searched
    other = next(i for i, who in agents.items() if who != "RelatedPerson/dochter")
    assert daughter.get(f"AuditEvent/{other}").status_code == 404
    # The client herself sees the whole trail of her record.
    assert {f"AuditEvent/{i}" for i in agents} <= _everything(as_("Patient/moeder"), query="_type=AuditEvent")


def _new_events(client, known):
    """AuditEvents of the daughter written after `known` was read (her own later disclosures)."""
    events = client.get("/fhir/AuditEvent?agent=RelatedPerson/dochter&_count=100").get_json()["entry"]
    return {e["resource"]["id"] for e in events} - set(known)


def test_narrower_scopes_narrow_the_answer_and_patient_read_is_needed(network, as_):
    nurse = as_("Practitioner/wijkverpleegkundige", scope="user/Patient.rs user/CarePlan.rs")
    assert _everything(nurse) == {"Patient/moeder", "CarePlan/plan-winter", "CarePlan/plan-zomer",
                                  "CarePlan/plan-ongedateerd"}
    refused = as_("Practitioner/wijkverpleegkundige", scope="user/CarePlan.rs").get("Patient/moeder/$everything")
    assert refused.status_code == 403 and refused.get_json()["resourceType"] == "OperationOutcome"


def test_a_deleted_patient_is_gone_for_whoever_may_see_it(network, client, as_):
    assert client.delete("/fhir/Patient/ander").status_code in (200, 204)
    assert as_(scope="system/*.rs").get("Patient/ander/$everything").status_code == 410
    assert as_("Practitioner/wijkverpleegkundige").get("Patient/ander/$everything").status_code == 404


def test_the_operations_compiled_statements_are_kept_apart_from_the_engines_and_bounded(network, as_, app):
    """A carer's `$everything` statement joins a dozen access clauses (~400 KB compiled) and its shape
    follows their Consent: kept in the engine's cache of 500 they grew a worker past its memory bound."""
    from gateway.search.everything import _OWN_CACHE

    own = _OWN_CACHE["compiled_cache"]
    engine_cache = app.extensions["samenzorg.engine"]._compiled_cache
    _everything(as_("RelatedPerson/dochter"))  # what else a carer's request compiles is now kept
    engine_before, own_before = set(engine_cache.keys()), len(own)
    _everything(as_("RelatedPerson/buurman"))  # another Consent: another shape of the operation's statements
    new = [str(engine_cache[k]) for k in set(engine_cache.keys()) - engine_before]
    assert not [sql for sql in new if "UNION ALL" in sql], "a $everything statement compiled into the engine's cache"
    assert len(own) >= min(own_before + 2, own.capacity)  # its count and its page, kept apart
    assert own.capacity == 32


def test_a_system_clients_statements_are_shared_by_requests_of_one_shape_and_bind_each_ones_values(network, as_):
    from gateway.search.everything import _UNRESTRICTED

    system = as_(scope="system/*.rs")
    _UNRESTRICTED.clear()
    assert _everything(system) == MOEDER_RECORD
    other = _everything(system, "ander")
    assert {"Patient/ander", "CareTeam/team-ander", "CarePlan/plan-ander", "Practitioner/huisarts-ander"} <= other
    assert not other & {"Patient/moeder", "CarePlan/plan-winter", "Practitioner/wijkverpleegkundige"}
    assert _everything(system) == MOEDER_RECORD
    assert len(_UNRESTRICTED) == 1  # one shape: three requests, one statement
    dated = _everything(system, query="start=2026-04-01&end=2026-12-31&_count=500")
    assert "CarePlan/plan-zomer" in dated and "CarePlan/plan-winter" not in dated
    assert _everything(system, "ander", query="start=2026-04-01&end=2026-12-31&_count=500") <= other
    assert len(_UNRESTRICTED) == 2
    # A carer's statement holds their access clause: built for the request, never kept here.
    _everything(as_("RelatedPerson/dochter"))
    assert len(_UNRESTRICTED) == 2
