"""History of an instance, a type and the system: newest first, paged."""


def test_instance_history_lists_every_version_newest_first(api, patient):
    created = api.create(patient())
    pid = created["id"]
    for gender in ("male", "other"):
        api.put(f"Patient/{pid}", {**created, "gender": gender})
    bundle = api.get(f"Patient/{pid}/_history").get_json()
    assert bundle["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in bundle["entry"]] == ["3", "2", "1"]
    assert [e["request"]["method"] for e in bundle["entry"]] == ["PUT", "PUT", "POST"]
    assert bundle["entry"][0]["response"]["etag"] == 'W/"3"'


def test_type_history_covers_only_that_type(api, patient):
    api.create(patient())
    api.create({"resourceType": "Organization", "name": "Buurtzorg Oost"})
    bundle = api.get("Patient/_history").get_json()
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"Patient"}


def test_system_history_covers_all_types(api, patient):
    api.create(patient())
    api.create({"resourceType": "Organization", "name": "Buurtzorg Oost"})
    bundle = api.get("_history").get_json()
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Organization", "Patient"]


def test_history_pages_without_skipping_or_repeating_while_others_write(api, patient):
    ids = [api.create(patient(given=f"P{i}"))["id"] for i in range(7)]
    seen = []
    bundle = api.get("Patient/_history?_count=3").get_json()
    while True:
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        api.create(patient(given="inserted while paging"))
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not nxt:
            break
        bundle = api.client.get(nxt[0]).get_json()
    assert seen == list(reversed(ids))


def test_history_since_filters_by_time(api, patient):
    api.create(patient())
    assert api.get("Patient/_history?_since=2999-01-01T00:00:00Z").get_json()["entry"] == []
    assert len(api.get("Patient/_history?_since=2000-01-01T00:00:00Z").get_json()["entry"]) == 1
    assert api.get("Patient/_history?_since=yesterday").status_code == 400


def test_history_of_unknown_instance_is_404(api):
    assert api.get("Patient/none/_history").status_code == 404


def test_history_statements_kept_per_shape_answer_each_requests_values(api, patient):
    """A system client's history statement is kept per shape (search/prepared.py) and run with each
    request's id, `_since` and cursor: asked again with other values, it answers for those."""
    first = api.create(patient())
    second = api.create(patient(given="Tweede"))
    api.put(f"Patient/{first['id']}", {**first, "gender": "male"})
    moment = api.get(f"Patient/{first['id']}").get_json()["meta"]["lastUpdated"]
    for pid, versions in ((first["id"], ["2", "1"]), (second["id"], ["1"]), (first["id"], ["2", "1"])):
        seen, url = [], f"Patient/{pid}/_history?_count=1&_since=2000-01-01T00:00:00Z"
        bundle = api.get(url).get_json()
        while True:
            seen += [(e["resource"]["id"], e["resource"]["meta"]["versionId"]) for e in bundle["entry"]]
            nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
            if not nxt:
                break
            bundle = api.client.get(nxt[0]).get_json()
        assert seen == [(pid, v) for v in versions]
        since = api.get(f"Patient/{pid}/_history?_count=1&_since={moment.replace('+', '%2B')}").get_json()
        assert [e["resource"]["meta"]["versionId"] for e in since["entry"]] == (["2"] if pid == first["id"] else [])
