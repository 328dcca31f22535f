"""_sort, _count, page links: stable under concurrent inserts, and tamper-proof."""
import base64

import orjson
import pytest

from gateway.errors import BadRequest


def patients(store, n, **extra):
    for i in range(n):
        store.put({"resourceType": "Patient", "id": f"p{i:03d}", "name": [{"family": f"Fam{i % 5}"}],
                   "birthDate": f"19{40 + i % 7}-01-01", **extra})


def walk(store, first, **kw):
    """Every match on every page, following `next` links."""
    seen, bundle = [], first
    while bundle is not None:
        seen += store.entries(bundle)
        bundle = store.follow(bundle, **kw)
    return seen


def link(bundle, relation):
    return next((l["url"] for l in bundle["link"] if l["relation"] == relation), None)


def test_the_default_page_size_is_twenty_with_the_total(store):
    patients(store, 25)
    bundle = store.search("Patient")
    assert len(store.entries(bundle)) == 20 and bundle["total"] == 25
    assert link(bundle, "next") is not None and link(bundle, "previous") is None


def test_count_is_capped_at_five_hundred(store):
    patients(store, 3)
    bundle = store.search("Patient", "_count=100000")
    assert "_count=500" in link(bundle, "self")


def test_count_zero_gives_the_total_only(store):
    patients(store, 3)
    bundle = store.search("Patient", "_count=0")
    assert bundle["total"] == 3 and "entry" not in bundle and link(bundle, "next") is None


def test_walking_all_pages_shows_every_match_once(store):
    patients(store, 23)
    seen = walk(store, store.search("Patient", "_count=5"))
    assert seen == [f"p{i:03d}" for i in range(23)]


def test_paging_is_stable_while_others_insert(store):
    patients(store, 12)
    page = store.search("Patient", "_count=4&_sort=family")
    seen = store.entries(page)
    extra = 0
    while (page := store.follow(page)) is not None:
        seen += store.entries(page)
        # Someone adds patients sorting before, among and after what we have seen.
        for fam in ("Fam0", "Fam2", "Fam9"):
            store.put({"resourceType": "Patient", "id": f"new{extra}", "name": [{"family": fam}]})
            extra += 1
    originals = [s for s in seen if s.startswith("p")]
    assert sorted(originals) == [f"p{i:03d}" for i in range(12)]  # none skipped
    assert len(seen) == len(set(seen))  # none repeated


def test_previous_links_walk_back_over_the_same_pages(store):
    patients(store, 10)
    first = store.search("Patient", "_count=3&_sort=-birthdate")
    second = store.follow(first)
    third = store.follow(second)
    assert store.entries(store.follow(third, "previous")) == store.entries(second)
    back_to_first = store.follow(second, "previous")
    assert store.entries(back_to_first) == store.entries(first)
    assert link(back_to_first, "previous") is None


def test_self_link_of_a_later_page_is_its_own_page_link(store):
    patients(store, 4)
    second = store.follow(store.search("Patient", "_count=2"))
    assert "_cursor=" in link(second, "self")


def test_sort_by_string_ascending_and_descending_with_id_tie_break(store):
    patients(store, 10)
    asc = store.ids("Patient", "_sort=family,_id&_count=10")
    assert asc[:2] == ["p000", "p005"] and asc[-2:] == ["p004", "p009"]
    desc = store.ids("Patient", "_sort=-family&_count=10")
    assert desc[:2] == ["p004", "p009"]


def test_sort_by_several_keys(store):
    patients(store, 14)
    got = store.ids("Patient", "_sort=-birthdate,-_id&_count=4")
    assert got == ["p013", "p006", "p012", "p005"]


def test_sort_by_last_updated_and_token(store):
    store.put({"resourceType": "Patient", "id": "b", "gender": "male"})
    store.put({"resourceType": "Patient", "id": "a", "gender": "female"})
    store.put({"resourceType": "Patient", "id": "c"})
    assert store.ids("Patient", "_sort=-_lastUpdated") == ["c", "a", "b"]
    assert store.ids("Patient", "_sort=gender") == ["a", "b", "c"]  # no value sorts last
    assert store.ids("Patient", "_sort=-gender") == ["b", "a", "c"]


def test_paging_over_a_sort_with_missing_values_shows_each_once(store):
    for i in range(9):
        store.put({"resourceType": "Patient", "id": f"x{i}", **({"gender": "male"} if i % 3 else {})})
    seen = walk(store, store.search("Patient", "_sort=-gender&_count=2"))
    assert sorted(seen) == [f"x{i}" for i in range(9)] and len(seen) == 9
    assert seen[-3:] == ["x0", "x3", "x6"]


def test_a_tampered_page_token_is_refused(store):
    patients(store, 12)
    url = link(store.search("Patient", "_count=2&family=fam1"), "next")
    token = url.split("_cursor=")[1]
    body, mac = token.split(".")
    payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["p"] = [["_count", "2"]]  # drop the family filter: widen the search
    forged = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode() + "." + mac
    for bad in (forged, token[:-2] + "xx", "garbage", ""):
        with pytest.raises(BadRequest):
            store.search("Patient", [("_cursor", bad)])


def test_a_page_token_from_another_server_key_is_refused(store):
    patients(store, 5)
    url = link(store.search("Patient", "_count=2"), "next")
    with pytest.raises(BadRequest):
        store.search("Patient", [("_cursor", url.split("_cursor=")[1])], key=b"another-key")


def test_a_page_token_cannot_be_used_at_another_endpoint_or_with_extra_parameters(store):
    patients(store, 5)
    token = link(store.search("Patient", "_count=2"), "next").split("_cursor=")[1]
    with pytest.raises(BadRequest):
        store.search("CarePlan", [("_cursor", token)])
    with pytest.raises(BadRequest):
        store.search("Patient", [("_cursor", token), ("family", "x")])
