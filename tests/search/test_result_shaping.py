"""Bundle shape: links, entries, stored bytes, _summary, _elements, _total, lenient vs strict."""
import orjson
import pytest
from sqlalchemy import update

from gateway.errors import BadRequest
from gateway.search import search_bundle
from gateway.storage.tables import resources

PLAN = {"resourceType": "CarePlan", "id": "plan", "status": "active", "intent": "plan",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Plan</div>"},
        "title": "Zorgplan", "subject": {"reference": "Patient/anna"},
        "note": [{"text": "Els doet boodschappen"}],
        "meta": {"tag": [{"system": "urn:t", "code": "demo"}]}}

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
             "display": "Resource encoded in summary mode"}


def entry(bundle, mode="match"):
    return next(e for e in bundle["entry"] if e["search"]["mode"] == mode)


def test_a_searchset_has_type_self_link_full_urls_and_match_mode(store):
    store.put(PLAN)
    bundle = store.search("CarePlan", "status=active&_count=5")
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    assert bundle["link"] == [{"relation": "self", "url": "http://test/fhir/CarePlan?status=active&_count=5"}]
    e = entry(bundle)
    assert e["fullUrl"] == "http://test/fhir/CarePlan/plan" and e["search"] == {"mode": "match"}


def test_entries_are_the_stored_bytes_unparsed(store, engine):
    store.put(PLAN)
    odd = b'{"resourceType":"CarePlan","id":"plan","zz":1.50,"status":"active"}'
    with engine.begin() as conn:  # bytes no model would produce: they must come back verbatim
        conn.execute(update(resources).where(resources.c.res_id == "plan").values(body=odd))
    with engine.connect() as conn:
        raw, _ = search_bundle(conn, res_type="CarePlan", params=[], base_url="http://t/fhir", strict=True,
                            page_key=b"k")
    assert odd in raw


def test_summary_true_keeps_summary_elements_and_marks_subsetted(store):
    store.put(PLAN)
    res = entry(store.search("CarePlan", "_summary=true"))["resource"]
    assert "note" not in res and "text" not in res
    assert res["status"] == "active" and res["title"] == "Zorgplan" and res["subject"]
    assert res["meta"]["tag"] == [{"system": "urn:t", "code": "demo"}, SUBSETTED]


def test_summary_text_keeps_text_and_mandatory_elements(store):
    store.put(PLAN)
    res = entry(store.search("CarePlan", "_summary=text"))["resource"]
    assert set(res) == {"resourceType", "id", "meta", "text", "status", "intent", "subject"}


def test_summary_data_drops_only_the_narrative(store):
    store.put(PLAN)
    res = entry(store.search("CarePlan", "_summary=data"))["resource"]
    assert "text" not in res and res["note"] and SUBSETTED in res["meta"]["tag"]


def test_summary_false_returns_everything_untagged(store):
    store.put(PLAN)
    res = entry(store.search("CarePlan", "_summary=false"))["resource"]
    assert res["note"] and res["meta"]["tag"] == [{"system": "urn:t", "code": "demo"}]


def test_summary_count_gives_only_the_total(store):
    store.put(PLAN)
    bundle = store.search("CarePlan", "_summary=count")
    assert bundle["total"] == 1 and "entry" not in bundle


def test_elements_keeps_the_asked_and_mandatory_elements(store):
    store.put(PLAN)
    res = entry(store.search("CarePlan", "_elements=title,note"))["resource"]
    assert set(res) == {"resourceType", "id", "meta", "title", "note", "status", "intent", "subject"}
    assert SUBSETTED in res["meta"]["tag"]


def test_included_resources_are_not_subsetted(store):
    store.put(PLAN)
    store.put({"resourceType": "Patient", "id": "anna", "name": [{"family": "de Vries"}]})
    bundle = store.search("CarePlan", "_elements=title&_include=CarePlan:subject")
    assert entry(bundle, "include")["resource"]["name"] == [{"family": "de Vries"}]


@pytest.mark.parametrize("total,expected", [("accurate", 3), ("estimate", 3), ("none", None), (None, 3)])
def test_total_is_accurate_by_default_and_can_be_switched_off(store, total, expected):
    for i in range(3):
        store.put({**PLAN, "id": f"p{i}"})
    bundle = store.search("CarePlan", f"_count=1&_total={total}" if total else "_count=1")
    assert bundle.get("total") == expected


def test_lenient_search_ignores_unknown_parameters_and_says_so(store):
    store.put(PLAN)
    bundle = store.search("CarePlan", "status=active&colour=blue&colour.name=x&_contained=true", strict=False)
    outcome = entry(bundle, "outcome")["resource"]
    assert outcome["resourceType"] == "OperationOutcome"
    assert sorted(i["expression"][0] for i in outcome["issue"]) == ["_contained", "colour", "colour.name"]
    assert all(i["severity"] == "warning" for i in outcome["issue"])
    assert bundle["link"][0]["url"] == "http://test/fhir/CarePlan?status=active"


MALFORMED = [
    "status:exact=active", "date=someday", "date=xx2026", "_count=-1", "_count=ten",
    "_sort=note", "_sort=colour", "_summary=maybe", "_total=some", "_elements=a.b", "_include=CarePlan:status",
    "_include=Nope:subject", "_include:recurse2=CarePlan:subject", "_include=CareTeam:participant",
    "subject=Patient/", "subject='", "subject:Observation.code=x", "_has:Patient:name:family=x",
    "_has:Nope:subject:status=x", "status=", "status=a,", "identifier=a|b|c", "_count:x=1",
    "_id:missing=true", "patient:identifier=urn:x|1", "_id='", "_id=a|b", "_lastUpdated=gt2026-13",
    "category:text=%20", "name=%00", "status=a%00", "_profile=x%01y", "date=ap0000",
    "date=2026-02-30", "date=2026-01-01T25:00", "subject:missing=maybe", "patient.birthdate=someday",
    "_has:Goal:patient:start-date=never", "subject:Patient.colour=x", "_has:Communication:based-on:colour=x",
    "subject.name=x&subject.colour=y&_sort=-date,colour",
]


@pytest.mark.parametrize("query", MALFORMED)
@pytest.mark.parametrize("strict", [True, False])
def test_a_malformed_value_for_a_known_parameter_is_refused_whatever_the_handling(store, query, strict):
    # Dropping it would answer with more than was asked for: every CarePlan.
    store.put(PLAN)
    with pytest.raises(BadRequest) as err:
        store.search("CarePlan", query, strict=strict)
    assert err.value.status == 400
    assert all(i.expression for i in err.value.issues)


@pytest.mark.parametrize("query", [*MALFORMED, "colour=blue", "subject.colour=x", "_contained=true"])
def test_strict_search_refuses_unknown_and_malformed_parameters(store, query):
    with pytest.raises(BadRequest) as err:
        store.search("CarePlan", query, strict=True)
    assert err.value.status == 400


def test_transport_parameters_are_neither_filters_nor_errors(store):
    store.put(PLAN)
    bundle = store.search("CarePlan", "_format=json&_pretty=true")
    assert store.entries(bundle) == ["plan"] and bundle["link"][0]["url"] == "http://test/fhir/CarePlan"


def test_system_level_search_spans_types(store):
    store.put(PLAN)
    store.put({"resourceType": "Patient", "id": "anna", "meta": {"tag": [{"system": "urn:t", "code": "demo"}]}})
    store.put({"resourceType": "Goal", "id": "g", "lifecycleStatus": "active", "description": {"text": "x"},
               "subject": {"reference": "Patient/anna"}})
    bundle = store.search(None, "_tag=urn:t|demo&_sort=_id")
    assert store.entries(bundle) == ["anna", "plan"]
    assert bundle["link"][0]["url"] == "http://test/fhir?_tag=urn%3At%7Cdemo&_sort=_id"
    assert sorted(store.ids(None, "_type=Goal,Patient")) == ["anna", "g"]
    assert store.ids(None, "_id=g") == ["g"]
    assert store.ids(None, "_type=Goal&_type=Patient") == []  # repeated: AND, so no type is left


def test_system_level_search_refuses_type_specific_parameters(store):
    with pytest.raises(BadRequest):
        store.search(None, "status=active")
    with pytest.raises(BadRequest):
        store.search(None, "_type=Observation")


def test_system_level_page_links_keep_working(store):
    for i in range(5):
        store.put({"resourceType": "Patient", "id": f"p{i}"})
        store.put({"resourceType": "Goal", "id": f"g{i}", "lifecycleStatus": "active",
                   "description": {"text": "x"}, "subject": {"reference": f"Patient/p{i}"}})
    page, seen = store.search(None, "_count=3"), []
    while page is not None:
        seen += store.entries(page)
        page = store.follow(page)
    assert len(seen) == 10 and len(set(seen)) == 10


def test_bundle_is_valid_json_with_fragments_spliced_in(store):
    store.put(PLAN)
    bundle = store.search("CarePlan")
    assert orjson.loads(orjson.dumps(bundle)) == bundle
