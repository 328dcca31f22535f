"""Search never widens and never crashes: malformed values, stated limits and signed cursors,
through real HTTP, as a system client and as a carer (the daughter, partial Consent)."""
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from gateway.search.limits import (MAX_CHAIN, MAX_COUNT, MAX_INCLUDES, MAX_OR_VALUES, MAX_PARAMETERS,
                                   MAX_SORT_KEYS)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture(params=["system", "carer"])
def caller(request, care_network, carer):
    return care_network if request.param == "system" else carer


def get(caller, path, query=""):
    return caller.get(f"/fhir/{path}" + (f"?{query}" if query else ""))


def post_search(caller, rtype, query):
    return caller.post(f"/fhir/{rtype}/_search", data=query, headers=FORM)


def refused(resp, expression=None):
    body = resp.get_json()
    assert resp.status_code == 400, body
    assert body["resourceType"] == "OperationOutcome"
    if expression is not None:
        assert expression in body["issue"][0]["expression"], body
    return body["issue"][0]["diagnostics"]


def ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return sorted(e["resource"]["id"] for e in resp.get_json().get("entry", [])
                  if e["search"]["mode"] == "match")


# -- 1. a malformed value is a 400, whatever Prefer: handling says ------------------------

MALFORMED = [
    ("Patient", "birthdate=not-a-date", "birthdate"),
    ("CarePlan", "subject='", "subject"),
    ("CarePlan", "_id=' OR 1=1 --", "_id"),
    ("CarePlan", "_lastUpdated=yesterday", "_lastUpdated"),
    ("Patient", "name=a%00b", "name"),
    ("CarePlan", "_sort=colour", "_sort"),
    ("CarePlan", "_include=Nope:x", "_include"),
    ("CarePlan", "_count=-5", "_count"),
    ("CarePlan", "_summary=please", "_summary"),
    ("CarePlan", "_total=many", "_total"),
    ("CarePlan", "_elements=a.b", "_elements"),
    ("CarePlan", "subject.birthdate=someday", "subject.birthdate"),
    ("Patient", "_has:CarePlan:subject:date=never", "_has:CarePlan:subject:date"),
    ("", "_type=CarePlan,Nope", "_type"),
    # An unknown name inside a known chain or _has is malformed too: dropping it would widen.
    ("CarePlan", "subject:Patient.colour=x", "subject:Patient.colour"),
    ("Patient", "_has:CarePlan:subject:colour=x", "_has:CarePlan:subject:colour"),
]


def test_a_malformed_value_for_a_known_parameter_is_400_whatever_handling_says(caller):
    for path, query, expression in MALFORMED:
        for headers in ({"Prefer": "handling=lenient"}, {"Prefer": "handling=strict"}, {}):
            refused(caller.get(f"/fhir/{path}?{query}", headers=headers), expression)


def test_lenient_handling_still_ignores_parameters_the_server_does_not_know(caller):
    resp = get(caller, "CarePlan", "status=active&colour=blue")
    bundle = resp.get_json()
    assert resp.status_code == 200
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome[0]["resource"]["issue"][0]["expression"] == ["colour"]
    refused(caller.get("/fhir/CarePlan?status=active&colour=blue", headers={"Prefer": "handling=strict"}),
            "colour")


def test_approximate_dates_at_the_ends_of_the_calendar_answer(caller):
    for value in ("ap0001", "ap0001-01-01T00:00:00Z", "ap9999-12-31", "ap9999"):
        assert get(caller, "CarePlan", f"date={value}").status_code == 200, value


# -- 2. stated limits, checked up front ---------------------------------------------------

def test_the_carer_chain_that_overflowed_sqlite_answers(care_network, caller):
    # Two links, each with the carer's access clause inside: it crashed SQLite's parser.
    resp = get(caller, "CarePlan", "performer:PractitionerRole.practitioner:Practitioner.name=visser")
    # The carer does not see the restricted plan (nor, by her Consent, the directory entries the
    # chain passes through, so she finds nothing); the system client finds both.
    assert ids(resp) == (["geheim", "medicatie"] if caller is care_network else [])


def test_work_at_every_limit_is_answered(care_network, caller):
    or_values = ",".join(f"x{i}" for i in range(MAX_OR_VALUES - 1)) + ",active"
    filters = [("status", or_values)] * (MAX_PARAMETERS - MAX_INCLUDES - 2)
    includes = [("_include", "CarePlan:subject"), ("_revinclude", "Communication:based-on")] * (MAX_INCLUDES // 2)
    query = urlencode(filters + includes + [("_sort", "-date,status,_id"), ("_count", "1")])
    for resp in (get(caller, "CarePlan", query), post_search(caller, "CarePlan", query)):
        assert resp.status_code == 200, resp.get_json()
    deep = {
        "CarePlan": "care-team:CareTeam.participant:PractitionerRole.practitioner:Practitioner.name=visser",
        "Patient": "_has:CarePlan:subject:_has:Communication:based-on:_has:Provenance:target:agent=x",
        "Communication": "based-on:CarePlan.performer:PractitionerRole._has:CareTeam:participant:status=active",
    }
    for rtype, query in deep.items():
        assert get(caller, rtype, query).status_code == 200, query
        assert post_search(caller, rtype, query).status_code == 200, query
    # Every parameter a chain that fans out over every target type, each with every OR value.
    many = ",".join(f"x{i}" for i in range(MAX_OR_VALUES - 1)) + ",buurman"
    widest = urlencode([("performer._id", many)] * MAX_PARAMETERS)
    # (The carer may not see the neighbour's RelatedPerson, so the chain finds nothing for her.)
    assert ids(get(caller, "CarePlan", widest)) == (["boodschappen"] if caller is care_network else [])


OVER_LIMIT = [
    ("&".join(f"status=a{i}" for i in range(999)), "status", MAX_PARAMETERS),
    ("status=" + ",".join(f"a{i}" for i in range(500)), "status", MAX_OR_VALUES),
    ("_id=" + ",".join(str(i) for i in range(MAX_OR_VALUES + 1)), "_id", MAX_OR_VALUES),
    ("_sort=" + ",".join(["date", "status", "_id", "-date"][:MAX_SORT_KEYS + 1]), "_sort", MAX_SORT_KEYS),
    ("_sort=date&_sort=status", "_sort", MAX_SORT_KEYS),
    ("&".join(["_include=CarePlan:subject"] * (MAX_INCLUDES + 1)), "_include", MAX_INCLUDES),
    ("care-team:CareTeam.participant:CareTeam.participant:CareTeam.participant:CareTeam.status=x",
     "care-team:CareTeam.participant:CareTeam.participant:CareTeam.participant:CareTeam.status", MAX_CHAIN),
    ("_has:CarePlan:part-of:_has:CarePlan:part-of:_has:CarePlan:part-of:_has:CarePlan:part-of:status=x",
     "_has:CarePlan:part-of:_has:CarePlan:part-of:_has:CarePlan:part-of:_has:CarePlan:part-of:status",
     MAX_CHAIN),
]


def test_a_query_over_a_limit_is_400_naming_the_limit(caller):
    for query, expression, limit in OVER_LIMIT:
        for resp in (get(caller, "CarePlan", query), post_search(caller, "CarePlan", query)):
            assert str(limit) in refused(resp, expression)


def test_count_is_capped_not_refused(caller):
    bundle = get(caller, "CarePlan", "_count=100000").get_json()
    assert dict(parse_qsl(urlsplit(bundle["link"][0]["url"]).query))["_count"] == str(MAX_COUNT)
    bundle = get(caller, "CarePlan", "_count=99999999999999999999999").get_json()
    assert dict(parse_qsl(urlsplit(bundle["link"][0]["url"]).query))["_count"] == str(MAX_COUNT)
    assert get(caller, "CarePlan/_history", "_count=99999999999999999999999").status_code == 200
    for value in ("-1", "1.5", "²", "ten", ""):
        refused(get(caller, "CarePlan", f"_count={value}"), "_count")


def test_the_capability_statement_states_the_limits_and_provision_actor(care_network):
    rest = care_network.get("/fhir/metadata").get_json()["rest"][0]
    for value in (MAX_PARAMETERS, MAX_OR_VALUES, MAX_SORT_KEYS, MAX_CHAIN, MAX_INCLUDES, MAX_COUNT):
        assert f": {value} (" in rest["documentation"]
    assert "provision-actor" in rest["documentation"]
    consent = next(r for r in rest["resource"] if r["type"] == "Consent")
    own = next(p for p in consent["searchParam"] if p["name"] == "provision-actor")
    assert own["definition"] == "https://samenzorg.nl/fhir/SearchParameter/Consent-provision-actor"


# -- 3. every cursor is signed and range-checked --------------------------------------------

def _next(bundle):
    return next((l["url"] for l in bundle["link"] if l["relation"] == "next"), None)


def _cursor(url):
    return dict(parse_qsl(urlsplit(url).query))["_cursor"]


def test_history_pages_with_a_signed_cursor(care_network):
    url = "/fhir/_history?_count=4&_since=2000-01-01T00:00:00%2B01:00"
    seen = []
    while url:
        resp = care_network.get(url)
        assert resp.status_code == 200, resp.get_json()
        bundle = resp.get_json()
        seen += [f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]]
        url = _next(bundle)
        assert url is None or list(dict(parse_qsl(urlsplit(url).query))) == ["_cursor"]
    assert len(seen) == len(set(seen)) >= 20


def test_a_bare_or_forged_history_cursor_is_400(caller):
    for path in ("_history", "CarePlan/_history", "CarePlan/medicatie/_history"):
        for value in ("99999999999999999999999", "5", "-1", "²", "abc", "a.b", ""):
            refused(get(caller, path, f"_cursor={value}"), "_cursor")


def test_an_edited_or_foreign_cursor_is_400(care_network):
    history = care_network.get("/fhir/CarePlan/_history?_count=1").get_json()
    search = care_network.get("/fhir/CarePlan?_count=1").get_json()
    h, s = _cursor(_next(history)), _cursor(_next(search))
    body, mac = h.split(".")
    edited = ("A" if body[0] != "A" else "B") + body[1:] + "." + mac
    for path, token in [("CarePlan/_history", edited), ("CarePlan/_history", s), ("CarePlan", h),
                        ("_history", h), ("Patient/_history", h), ("CarePlan/medicatie/_history", h)]:
        refused(care_network.get(f"/fhir/{path}?_cursor={token}"), "_cursor")
    refused(care_network.get(f"/fhir/CarePlan/_history?_cursor={h}&_count=50"), "_cursor")
    assert care_network.get(f"/fhir/CarePlan/_history?_cursor={h}").status_code == 200


def test_malformed_history_parameters_are_400(caller):
    for query, expression in [
        ("_since=yesterday", "_since"), ("_since=0001-01-01T00:00:00%2B01:00", "_since"),
        ("_count=0", "_count"), ("_count=²", "_count"), ("_count=-3", "_count"),
        ("_at=2026-01-01", "_at"),
    ]:
        refused(get(caller, "CarePlan/_history", query), expression)


def test_a_version_number_out_of_range_is_not_found(caller):
    for vid in ("99999999999999999999999", "²"):
        resp = get(caller, f"CarePlan/medicatie/_history/{vid}")
        assert resp.status_code == 404 and resp.get_json()["resourceType"] == "OperationOutcome"


# -- 4. Consent?provision-actor finds an actor at any level ----------------------------------

def test_provision_actor_finds_nested_actors_and_actor_keeps_r4_semantics(care_network):
    def consent_ids(query):
        return ids(care_network.get(f"/fhir/Consent?{query}"))

    assert consent_ids("actor=RelatedPerson/dochter") == []  # R4: the top-level provision only
    assert consent_ids("provision-actor=RelatedPerson/dochter") == ["c-dochter"]
    assert consent_ids("provision-actor:RelatedPerson=zoon") == ["c-zoon"]
    assert consent_ids("provision-actor:RelatedPerson.name=de") == ["c-dochter"]
    assert consent_ids("provision-actor=RelatedPerson/buurman") == []
    deep = {"resourceType": "Consent", "id": "c-diep", "status": "active", "scope": {"text": "x"}, "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
            "category": [{"text": "x"}], "patient": {"reference": "Patient/vader"},
            "provision": {"type": "deny", "provision": [{"type": "permit", "provision": [
                {"type": "deny", "actor": [{"role": {"text": "x"}, "reference": {"reference": "RelatedPerson/buurman"}}]}]}]}}
    assert care_network.put("/fhir/Consent/c-diep", json=deep,
                            headers={"Content-Type": "application/fhir+json"}).status_code == 201
    assert consent_ids("provision-actor=RelatedPerson/buurman") == ["c-diep"]
    assert ids(care_network.get("/fhir/RelatedPerson?_has:Consent:provision-actor:status=active")) == [
        "buurman", "dochter", "zoon"]
