"""Carers whose Consents have the same shape share one access clause, and the statements kept
under it; each carer's own values go in at execution (gateway/access_binds.py)."""
import pytest
from fhir_builders import actor, classes, consent, put_all
from sqlalchemy import exc, select

from gateway.access import Access
from gateway.access_binds import Binds, Shapes
from gateway.policy import Policy
from gateway.scopes import parse_scopes
from gateway.storage.direct import PER_CALLER, Direct
from gateway.storage.tables import resources


def _network(patient, carer, plan):
    return [
        {"resourceType": "Patient", "id": patient},
        {"resourceType": "RelatedPerson", "id": carer, "active": True, "patient": {"reference": f"Patient/{patient}"}},
        {"resourceType": "CarePlan", "id": plan, "status": "active", "intent": "plan",
         "subject": {"reference": f"Patient/{patient}"}},
        consent(f"c-{carer}", f"Patient/{patient}", {"type": "deny", "provision": [
            {"type": "permit", "actor": [actor(f"RelatedPerson/{carer}")], "class": classes("CarePlan")}]}),
    ]


@pytest.fixture
def two_carers(client, app, mint):
    """Two clients, each with a carer whose Consent has the same shape (CarePlans only)."""
    put_all(client, _network("moeder", "dochter", "plan-m") + _network("vader", "zoon", "plan-v"))
    carers = {}
    for rp in ("dochter", "zoon"):
        c = app.test_client()
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('user/*.rs', fhir_user=f'RelatedPerson/{rp}')}"
        carers[rp] = c
    return carers


def _policy(app, rp):
    conn = app.extensions["samenzorg.engine"].connect()
    access = Access(role="related-person", fhir_user=f"RelatedPerson/{rp}", scopes=parse_scopes("user/*.rs"))
    return conn, Policy(conn, access, cache=app.extensions["samenzorg.consent_cache"])


def test_carers_of_one_shape_share_a_clause_and_each_sees_only_their_own_client(two_carers, app):
    seen = {"dochter": set(), "zoon": set()}
    for _ in range(PER_CALLER + 2):  # past the uses after which kept statements go to the driver
        for rp, c in two_carers.items():  # interleaved: each request runs on what the other's built
            for path in ("/fhir/CarePlan?status=active", "/fhir/CarePlan?_total=accurate"):
                body = c.get(path).get_json()
                seen[rp] |= {e["resource"]["id"] for e in body["entry"]}
                assert body.get("total", 1) == 1
            assert c.get(f"/fhir/CarePlan/{'plan-m' if rp == 'dochter' else 'plan-v'}").status_code == 200
            assert c.get(f"/fhir/CarePlan/{'plan-v' if rp == 'dochter' else 'plan-m'}").status_code == 404
    assert seen == {"dochter": {"plan-m"}, "zoon": {"plan-v"}}
    (conn_d, daughter), (conn_s, son) = _policy(app, "dochter"), _policy(app, "zoon")
    with conn_d, conn_s:
        assert daughter.restrict("CarePlan") is son.restrict("CarePlan")
        assert daughter.bound != son.bound


def test_a_shared_clause_run_without_the_carers_values_is_refused(two_carers, app):
    two_carers["dochter"].get("/fhir/CarePlan")
    conn, daughter = _policy(app, "dochter")
    query = select(resources.c.res_id).where(resources.c.res_type == "CarePlan", daughter.restrict("CarePlan"))
    with conn:
        assert daughter.conn.execute(query).scalars().all() == ["plan-m"]
        with pytest.raises(exc.StatementError, match="A value is required for bind parameter 'acc_CarePlan_"):
            conn.execute(query)  # the connection itself: no carer's values
        direct = Direct(query)
        assert [r.res_id for r in direct.all(daughter.conn, {})] == ["plan-m"]
        with pytest.raises(KeyError, match="acc_CarePlan_"):
            direct.all(conn, {})


def test_only_values_bound_by_name_are_left_out_of_a_shape():
    shapes = Shapes()

    def named(value):
        binds = Binds("Goal")
        return resources.c.res_id == binds(value)

    assert shapes.share(named("a")) is shapes.share(named("b"))
    literal_a = resources.c.res_id == "a"
    assert shapes.share(literal_a) is literal_a
    assert shapes.share(resources.c.res_id == "b") is not literal_a
    assert shapes.share(resources.c.res_id == "a") is literal_a


def test_carers_of_one_shape_share_everything_statements_and_each_gets_their_own_record(two_carers):
    from gateway.search import everything

    everything._SHARED_CLAUSES.clear()
    seen = {"dochter": set(), "zoon": set()}
    for _ in range(3):
        for rp, c in two_carers.items():
            patient = "moeder" if rp == "dochter" else "vader"
            body = c.get(f"/fhir/Patient/{patient}/$everything").get_json()
            seen[rp] |= {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in body.get("entry", [])}
            assert body["total"] == len(body.get("entry", []))
    assert seen == {"dochter": {"CarePlan/plan-m", "RelatedPerson/dochter"},  # one's own: always
                    "zoon": {"CarePlan/plan-v", "RelatedPerson/zoon"}}
    assert len(everything._SHARED_CLAUSES) == 1


def test_a_carers_write_after_their_clauses_are_bound_runs_also_where_sql_is_recorded(client, app, mint):
    """A logbook message that refers to the client's care plan (checked through the carer's access
    clause first, so their values are bound) is stored and found, also when every statement goes
    through SQLAlchemy because something records the driver's SQL."""
    from sqlalchemy import event

    from outbox_world import ACCESS, CONTRIBUTE, RT

    put_all(client, _network("moeder", "dochter", "plan-m")[:3] + [
        consent("c-dochter", "Patient/moeder", {"type": "deny", "provision": [
            {"type": "permit", "actor": [actor("RelatedPerson/dochter")], "action": [action],
             "class": [{"system": RT, "code": t} for t in ("CarePlan", "Communication")]}
            for action in (ACCESS, CONTRIBUTE)]})])
    daughter = app.test_client()
    daughter.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint('user/*.crs', fhir_user='RelatedPerson/dochter')}"
    recorded = []
    engine = app.extensions["samenzorg.engine"]
    record = lambda conn, cursor, statement, *rest: recorded.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    try:
        created = daughter.post("/fhir/Communication", json={
            "resourceType": "Communication", "status": "completed", "subject": {"reference": "Patient/moeder"},
            "sender": {"reference": "RelatedPerson/dochter"}, "about": [{"reference": "CarePlan/plan-m"}],
            "payload": [{"contentString": "Boodschappen gedaan."}]}, headers={"Content-Type": "application/fhir+json"})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert created.status_code == 201, created.get_json()
    assert any(s.startswith("INSERT INTO resources") for s in recorded)  # through SQLAlchemy, recorded
    found = daughter.get("/fhir/Communication?subject=Patient/moeder").get_json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created.headers["Location"].split("/")[-3]]
