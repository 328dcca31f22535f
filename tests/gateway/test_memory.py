"""A worker gives back what a large request body made it allocate."""
import orjson

from gateway import memory


def _transaction(entries, text):
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "name": [{"family": text}]}} for _ in range(entries)]}


def test_the_heap_is_trimmed_after_a_request_with_a_large_body_and_not_after_a_small_one(client, monkeypatch):
    trims = []
    monkeypatch.setattr(memory, "trim", lambda: trims.append(1))
    small = orjson.dumps(_transaction(1, "de Vries"))
    assert client.post("/fhir", data=small, headers={"Content-Type": "application/fhir+json"}).status_code == 200
    assert trims == []
    large = orjson.dumps(_transaction(40, "x" * 30_000))
    assert len(large) >= memory.LARGE_BODY
    resp = client.post("/fhir", data=large, headers={"Content-Type": "application/fhir+json"})
    assert resp.status_code == 200
    resp.close()
    assert trims == [1]


def test_malloc_arenas_can_be_limited_on_glibc():
    # glibc (Debian, the images we ship) has both; elsewhere they report False and do nothing.
    assert memory.limit_arenas() is (memory._LIBC is not None)
