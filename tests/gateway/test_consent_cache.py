"""A carer's compiled Consents are kept between requests, never past a change in the database or a
Period boundary: two app instances (two processes' worth of caches) over one database."""
from datetime import datetime, timedelta, timezone

import pytest
from fhir_builders import actor, classes, consent, put_all

from gateway import create_app
from gateway.access import Access
from gateway.consent_cache import ConsentCache
from gateway.policy import Policy
from gateway.scopes import parse_scopes
from gateway.storage.direct import PER_CALLER

H = {"Content-Type": "application/fhir+json"}
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _rp(rid, **extra):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": "Patient/moeder"},
            "name": [{"family": "de Vries"}], **extra}


def _grant(cid="c-dochter", who="RelatedPerson/dochter", status="active", patient="Patient/moeder", **permit):
    return consent(cid, patient, {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor(who)], "class": classes("CarePlan"), **permit}]}, status=status)


WORLD = [
    {"resourceType": "Patient", "id": "moeder"},
    {"resourceType": "Patient", "id": "ander"},
    _rp("dochter"), _rp("zoon"), _rp("buurman"),
    {"resourceType": "CarePlan", "id": "plan", "status": "active", "intent": "plan",
     "subject": {"reference": "Patient/moeder"}},
    _grant(),
]


@pytest.fixture
def two_apps(settings, client, mint):
    """This test's app (`client`, a system client) and a second app over the same database, each with
    its own consent cache: the daughter asks the second one."""
    put_all(client, WORLD)
    other = create_app(settings)
    daughter = other.test_client()
    daughter.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('user/*.rs', fhir_user='RelatedPerson/dochter')}"
    yield client, daughter, other.extensions["samenzorg.consent_cache"]
    other.extensions["samenzorg.engine"].dispose()


CHANGES = {
    "revoked": lambda c: c.put("/fhir/Consent/c-dochter", json=_grant(status="inactive"), headers=H),
    "deleted": lambda c: c.delete("/fhir/Consent/c-dochter"),
    "moved to another client": lambda c: c.put("/fhir/Consent/c-dochter", json=_grant(patient="Patient/ander"),
                                               headers=H),
    "overruled by a new deny": lambda c: c.post("/fhir/Consent", headers=H, json=consent(
        "x", "Patient/moeder", {"type": "permit", "provision": [
            {"type": "deny", "actor": [actor("RelatedPerson/dochter")], "class": classes("CarePlan")}]})),
    "her membership ended": lambda c: c.put("/fhir/RelatedPerson/dochter", json=_rp("dochter", active=False),
                                            headers=H),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_consent_change_through_another_process_takes_effect_on_the_carers_very_next_request(two_apps, change):
    system, daughter, cache = two_apps
    search = "/fhir/CarePlan?subject=Patient/moeder&status=active&_total=accurate"
    assert daughter.get("/fhir/CarePlan/plan").status_code == 200
    assert daughter.get("/fhir/CarePlan?_total=accurate").get_json()["total"] == 1
    for _ in range(PER_CALLER + 2):  # the search's statement is kept for her, and goes to the driver
        assert daughter.get(search).get_json()["total"] == 1
    assert len(cache) == 1  # what the second app keeps for her
    assert CHANGES[change](system).status_code in (200, 201, 204)
    assert daughter.get("/fhir/CarePlan/plan").status_code == 404
    assert daughter.get("/fhir/CarePlan?_total=accurate").get_json()["total"] == 0
    for _ in range(2):
        assert daughter.get(search).get_json()["total"] == 0


def test_a_consent_granted_through_another_process_takes_effect_on_the_carers_very_next_request(two_apps):
    system, daughter, _ = two_apps
    system.put("/fhir/Consent/c-dochter", json=_grant(status="inactive"), headers=H)
    assert daughter.get("/fhir/CarePlan/plan").status_code == 404
    assert system.put("/fhir/Consent/c-dochter", json=_grant(), headers=H).status_code == 200
    assert daughter.get("/fhir/CarePlan/plan").status_code == 200


def test_unchanged_consents_are_read_and_compiled_once_per_process(two_apps, settings):
    _, daughter, cache = two_apps
    daughter.get("/fhir/CarePlan/plan")
    kept = cache._entries["dochter"]
    assert daughter.get("/fhir/CarePlan/plan").status_code == 200
    assert cache._entries["dochter"] is kept


def _policy(engine, cache, now):
    conn = engine.connect()
    return conn, Policy(conn, Access(role="related-person", fhir_user="RelatedPerson/dochter",
                                     scopes=parse_scopes("user/*.rs")), now=now, cache=cache)


def _ending_in_an_hour(client, when: str) -> datetime:
    """The world with the daughter's Consent provision, or her membership, ending an hour after NOW."""
    end = NOW + timedelta(hours=1)
    period = {"period": {"end": end.isoformat()}}
    put_all(client, [w for w in WORLD if w["resourceType"] not in ("Consent", "RelatedPerson")]
            + [_grant(**(period if when == "provision" else {})),
               _rp("dochter", **(period if when == "relatedperson" else {}))])
    return end


@pytest.mark.parametrize("when", ["provision", "relatedperson"])
def test_a_kept_reading_is_not_used_past_a_period_boundary_in_the_consent_or_the_membership(
        client, app, when):
    end = _ending_in_an_hour(client, when)
    engine, cache = app.extensions["samenzorg.engine"], ConsentCache()
    plan = {"resourceType": "CarePlan", "id": "plan", "subject": {"reference": "Patient/moeder"}}
    verdicts = []
    # An inclusive end at whole seconds holds until the next second.
    for now in (NOW, end, end + timedelta(seconds=1), NOW):
        conn, policy = _policy(engine, cache, now)
        with conn:
            verdicts.append(policy.carer_patient is not None and policy.decide(plan).permitted)
    assert verdicts == [True, True, False, True]


def test_the_cache_keeps_at_most_its_bound_of_carers(client, app, mint):
    put_all(client, WORLD)
    engine, cache = app.extensions["samenzorg.engine"], ConsentCache(max_entries=2)
    for who in ("dochter", "zoon", "buurman"):
        with engine.connect() as conn:
            Policy(conn, Access(role="related-person", fhir_user=f"RelatedPerson/{who}",
                                scopes=parse_scopes("user/*.rs")), cache=cache).consent_filter
    assert len(cache) == 2 and "dochter" not in cache._entries


@pytest.mark.parametrize("when", ["provision", "relatedperson"])
def test_a_kept_access_clause_is_not_used_past_a_period_boundary(client, app, when):
    """Clauses are kept per process under the state's stamp *and* clock window: the stamp stays the
    same when a Period ends, the clause built before must not."""
    from sqlalchemy import select

    from gateway.storage.tables import resources

    end = _ending_in_an_hour(client, when)
    engine, cache = app.extensions["samenzorg.engine"], ConsentCache()
    seen = []
    for now in (NOW, end + timedelta(seconds=1), NOW):
        conn, policy = _policy(engine, cache, now)
        with conn:
            clause = policy.restrict("CarePlan")
            seen.append(policy.conn.execute(select(resources.c.res_id).where(
                resources.c.res_type == "CarePlan", clause)).scalars().all())
    assert seen == [["plan"], [], ["plan"]]


def test_the_cache_keeps_at_most_its_bound_of_access_clauses(client, app):
    put_all(client, WORLD)
    engine, cache = app.extensions["samenzorg.engine"], ConsentCache(max_clauses=2)
    for res_type in ("CarePlan", "Communication", "Goal", "CarePlan"):
        conn, policy = _policy(engine, cache, NOW)
        with conn:
            policy.restrict(res_type)
    assert len(cache._clauses) == 2
    assert [key[-1][0] for key in cache._clauses] == ["Goal", "CarePlan"]


def test_a_search_record_names_the_clients_active_consents_as_kept(two_apps):
    """A search showing several resources (or none) is recorded under every active Consent of the
    client; the kept state names them without parsing the Consents again, and a revoked one is gone
    from the very next record."""
    system, daughter, cache = two_apps
    put_all(system, [_grant("c-oud", status="inactive"), _grant("c-zoon", who="RelatedPerson/zoon")])

    def named():
        assert daughter.get("/fhir/Goal").status_code == 200  # no Goal is hers to see: none shown
        log = system.get("/fhir/AuditEvent?agent=RelatedPerson/dochter&_sort=-date&_count=1").get_json()
        return sorted(e["what"]["reference"] for e in log["entry"][0]["resource"]["entity"]
                      if e["what"]["reference"].startswith("Consent/"))

    assert named() == ["Consent/c-dochter", "Consent/c-zoon"]
    assert named() == ["Consent/c-dochter", "Consent/c-zoon"]  # from the kept state
    assert all(isinstance(raw, bytes) for raw in cache._entries["dochter"].stored_consents)
    assert system.put("/fhir/Consent/c-zoon", json=_grant("c-zoon", who="RelatedPerson/zoon", status="inactive"),
                      headers=H).status_code == 200
    assert named() == ["Consent/c-dochter"]
