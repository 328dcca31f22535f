"""A worker gives back what a large request body made it allocate, and free memory once a second."""
import orjson
import pytest

from gateway import memory


def _transaction(entries, text):
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "name": [{"family": text}]}} for _ in range(entries)]}


@pytest.fixture
def clock(monkeypatch):
    """The trimmer's clock, moved by the test."""
    now = [1000.0]
    monkeypatch.setattr(memory, "_now", lambda: now[0])
    return now


def test_the_heap_is_trimmed_after_a_request_with_a_large_body_and_not_after_a_small_one(clock, client, monkeypatch):
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


def test_a_worker_trims_once_a_second_after_whichever_request_ends_first_in_it(clock, client, monkeypatch):
    trims = []
    monkeypatch.setattr(memory, "trim", lambda: trims.append(1))

    def ask():
        client.get("/fhir/metadata").close()
    ask()
    assert trims == []  # not yet a second since the worker started
    clock[0] += memory.TRIM_EVERY
    ask()
    assert trims == [1]
    ask()
    clock[0] += memory.TRIM_EVERY / 2
    ask()
    assert trims == [1]  # once per second, however many requests end in it
    clock[0] += memory.TRIM_EVERY / 2
    ask()
    ask()
    assert trims == [1, 1]


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(memory._LIBC is None, reason="not glibc: trim does nothing there")
def test_a_trim_gives_back_free_heap_that_blocks_still_in_use_hold_in_place():
    # 80 MB in blocks malloc serves from its heap (under its mmap threshold), then all but every
    # 50th freed: the ones kept pin the heap, so only a trim returns the free pages between them.
    blocks = [bytearray(4000) for _ in range(20_000)]
    kept = blocks[::50]
    del blocks
    before = _rss_mb()
    assert memory.trim() is True
    assert before - _rss_mb() > 40
    assert len(kept) == 400


def test_malloc_arenas_can_be_limited_on_glibc():
    # glibc (Debian, the images we ship) has both; elsewhere they report False and do nothing.
    assert memory.limit_arenas() is (memory._LIBC is not None)
