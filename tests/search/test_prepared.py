"""Searches kept per shape (gateway/search/prepared.py) find exactly what the same search built per
request finds: the same entries in the same order, the same total and links, for every value of a
kept shape, one shape after another, as a system client and under two callers' access clauses."""
from __future__ import annotations

from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.search import execute, prepared
from gateway.storage.direct import PER_CALLER
from gateway.storage.tables import idx_reference, resources

SEEN = dict(derandomize=True, database=None, deadline=None, max_examples=120,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PEOPLE = ["anna", "bert", "cor"]


def _world(store):
    for i, who in enumerate(PEOPLE):
        store.put({"resourceType": "Patient", "id": who, "gender": ["female", "male", "other"][i],
                   "birthDate": f"193{i}-0{i + 1}-1{i}",
                   "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": f"11122233{i}"}],
                   "name": [{"family": ["Jansen", "de Vries", "Jansen"][i], "given": [who]}]})
        store.put({"resourceType": "RelatedPerson", "id": f"els-{who}", "patient": {"reference": f"Patient/{who}"}})
        for j, status in enumerate(["active", "completed", "draft"]):
            store.put({"resourceType": "CarePlan", "id": f"plan-{who}-{j}", "status": status, "intent": "plan",
                       "subject": {"reference": f"Patient/{who}"},
                       "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "73635300" + str(j)}]}],
                       "period": {"start": f"2026-0{j + 1}-0{i + 1}", "end": f"2026-0{j + 2}-15"}})
        for j in range(5):
            store.put({"resourceType": "Communication", "id": f"msg-{who}-{j}",
                       "status": ["completed", "in-progress"][j % 2], "subject": {"reference": f"Patient/{who}"},
                       "sender": {"reference": f"RelatedPerson/els-{who}"},
                       "sent": f"2026-03-0{j + 1}T1{i}:00:00+01:00"})


REFS = ["Patient/anna", "anna", "Patient/bert", "cor", "Patient/nobody", "RelatedPerson/els-anna", "els-bert"]
TOKENS = ["active", "completed", "|active", "http://hl7.org/fhir/request-status|active", "in-progress",
          "http://snomed.info/sct|736353001", "http://snomed.info/sct|", "736353002", "%", "_", "'", "female",
          "http://fhir.nl/fhir/NamingSystem/bsn|111222331", "111222330", "male"]
DATES = [p + d for p in ("", "eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
         for d in ("2026", "2026-03", "2026-03-03", "2026-03-02T11:00:00+01:00", "1931")]
EXACT = ["Jansen", "jansen", "de Vries", "%", "_", "Jan"]
IDS = ["plan-anna-0", "plan-bert-2", "msg-anna-1", "msg-cor-4", "anna", "cor", "nobody", "a.b"]
UPDATED = [p + d for p in ("", "eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
           for d in ("2026-01-01T12:00:10Z", "2026-01-01T13:00:25+01:00", "2026-01-01", "2025")]  # the store's clock

PARAMS = {
    "CarePlan": {"subject": REFS, "patient": REFS, "status": TOKENS, "category": TOKENS, "date": DATES,
                 "_id": IDS, "_lastUpdated": UPDATED},
    "Communication": {"subject": REFS, "sender": REFS, "status": TOKENS, "sent": DATES, "_id": IDS,
                      "_lastUpdated": UPDATED},
    "Patient": {"family:exact": EXACT, "gender": TOKENS, "identifier": TOKENS, "birthdate": DATES, "_id": IDS},
}
INCLUDES = {"CarePlan": ["CarePlan:subject", "CarePlan:subject:Patient", "CarePlan:patient"],
            "Communication": ["Communication:sender", "Communication:subject", "Communication:sender:Patient"],
            "Patient": []}
SORTS = {"CarePlan": ["", "date", "-date", "status"], "Communication": ["", "-sent", "sent", "-_lastUpdated"],
         "Patient": ["", "birthdate", "-family"]}


@st.composite
def kept_searches(draw):
    res_type = draw(st.sampled_from(sorted(PARAMS)))
    names = draw(st.lists(st.sampled_from(sorted(PARAMS[res_type])), min_size=0, max_size=3))
    params = [(n, ",".join(draw(st.lists(st.sampled_from(PARAMS[res_type][n]), min_size=1, max_size=3))))
              for n in names]
    if INCLUDES[res_type]:
        params += [("_include", i) for i in draw(st.lists(st.sampled_from(INCLUDES[res_type]), max_size=2))]
    sort = draw(st.sampled_from(SORTS[res_type]))
    if sort:
        params.append(("_sort", sort))
    params.append(("_count", str(draw(st.sampled_from([1, 2, 20])))))
    params.append(("_total", draw(st.sampled_from(["accurate", "none"]))))
    return res_type, params


# Two callers' access clauses, each one object for the whole test, as a kept carer's is.
_ANNA_HIDDEN = resources.c.res_id.not_like("%anna%")
_BERT_ONLY = resources.c.rid.in_(select(idx_reference.c.rid).where(idx_reference.c.target_id == "bert"))


def _found(store, res_type, params, restrict, kept: bool, used: list):
    def counted(*args):
        p = original(*args)
        used.append(p is not None)
        return p

    original, includes = prepared.prepared, prepared.includes
    execute.prepared = counted if kept else (lambda *args: None)
    if not kept:  # each include built for its one use, as before
        prepared.includes = SimpleNamespace(get=lambda key, clauses, build: build(1))
    try:
        bundle = store.search(res_type, params, restrict=restrict)
    finally:
        execute.prepared, prepared.includes = original, includes
    return ([e["resource"]["id"] for e in bundle.get("entry", [])], bundle.get("total"),
            [(link["relation"], link["url"]) for link in bundle["link"]])


@settings(**SEEN)
@given(search=kept_searches())
def test_a_kept_search_finds_what_the_search_built_per_request_finds(store, search):
    if not getattr(store, "seeded", False):  # one world for every example
        _world(store)
        store.seeded = True
    res_type, params = search
    for restrict in (None, lambda t: _ANNA_HIDDEN, lambda t: _BERT_ONLY):
        used: list = []
        built = _found(store, res_type, params, restrict, False, used)
        uses = 2 if restrict is None else PER_CALLER + 2  # with a clause: through SQLAlchemy first, then direct
        for _ in range(uses):
            assert _found(store, res_type, params, restrict, True, used) == built, (params, restrict)
        assert used == [True] * uses  # the kept path answered


def test_each_caller_has_their_own_kept_statement(store):
    _world(store)
    search = [("subject", "Patient/bert,Patient/anna"), ("_total", "accurate")]
    for _ in range(PER_CALLER + 2):
        assert store.ids("Communication", search, restrict=lambda t: _ANNA_HIDDEN) == \
            [f"msg-bert-{j}" for j in range(5)]
        assert store.ids("Communication", search, restrict=lambda t: _BERT_ONLY) == \
            [f"msg-bert-{j}" for j in range(5)]
        assert len(store.ids("Communication", search)) == 10
    bert_hidden = resources.c.res_id.not_like("%bert%")  # another caller, the same shape
    assert store.ids("Communication", search, restrict=lambda t: bert_hidden) == [f"msg-anna-{j}" for j in range(5)]


def test_a_kept_statement_goes_straight_to_the_driver(store):
    _world(store)
    search = [("subject", "Patient/anna"), ("status", "completed"), ("_sort", "-sent"), ("_total", "accurate"),
              ("_count", "1")]
    for _ in range(2):
        store.search("Communication", search)
    with store.engine.connect() as conn:
        q = execute.parse("Communication", search, base_url="http://test/fhir")
        kept = prepared.prepared(conn, q, None, "http://test/fhir", None)
        dialect = conn.dialect.name
    assert kept.values == {"v0": "anna", "v1": "completed"}
    # Compiled for the driver, not left to SQLAlchemy (which a LIMIT or an IN list could force).
    assert kept.page._by_dialect[dialect] is not None and kept.count._by_dialect[dialect] is not None


def test_searches_of_other_shapes_are_built_per_request(store):
    _world(store)
    for res_type, search in [("Patient", [("family", "jans")]), ("Patient", [("family:contains", "%")]),
                             ("CarePlan", [("status:not", "active")]), ("CarePlan", [("date", "ap2026-03")]),
                             ("CarePlan", [("subject:missing", "true")]), ("CarePlan", [("_lastUpdated", "ap2026-01-01")]),
                             ("CarePlan", [("subject.family", "Jansen")]),
                             ("CarePlan", [("subject", "http://elders.example/fhir/Patient/anna")])]:
        with store.engine.connect() as conn:
            q = execute.parse(res_type, search, base_url="http://test/fhir")
            assert prepared.prepared(conn, q, None, "http://test/fhir", None) is None, search


def test_statements_kept_per_caller_are_bounded_apart_from_the_system_clients(store):
    """Carers' statements (one per shape and access clause) never push out a system client's, and
    never hold more than their bound of statements, clauses and all."""
    _world(store)
    system = [("subject", "Patient/anna"), ("status", "completed")]
    store.search("Communication", system)
    open_before = dict(prepared._searches._open)
    for i in range(prepared.KEPT_RESTRICTED + 20):  # as many callers, each with a clause of their own
        clause = resources.c.res_id != f"msg-anna-{i % 5}"
        assert len(store.ids("Communication", [("subject", "Patient/anna")], restrict=lambda t: clause)) == 4
    assert len(prepared._searches._restricted) == prepared.KEPT_RESTRICTED
    assert all(prepared._searches._open.get(k) is v for k, v in open_before.items())
