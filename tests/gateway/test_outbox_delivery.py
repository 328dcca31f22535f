"""Delivering the outbox to a record system that misbehaves (a real local HTTP server): every item ends
delivered once, or dead with its reason, and the counts reconcile after every fault."""
from datetime import timedelta

import orjson
import pytest
from outbox_world import SOURCE, World, write_config
from writeback_receiver import Receiver

HTTP_SOURCE = '[sources.ecd-oost]\nkind = "network-json"\nbase_url = "{url}"\ntimeout = {{ connect = 2, read = {read} }}\n'


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def world(settings, mint, tmp_path, receiver):
    w = World(settings, mint, write_config(tmp_path, HTTP_SOURCE.format(url=receiver.base_url, read=1)))
    yield w
    w.close()


def _reconciles(world, receiver, written: int) -> None:
    """Every item is delivered or dead with a reason; the receiver holds one record per delivered item."""
    rows = world.rows()
    assert len(rows) == written
    assert all(r.state in ("delivered", "dead") for r in rows)
    assert all(r.last_error for r in rows if r.state == "dead")
    delivered = {r.idempotency_key for r in rows if r.state == "delivered"}
    assert set(receiver.stored) == delivered


def test_a_logbook_message_reaches_the_record_system_once_in_its_own_terms(world, receiver):
    world.write("Medicijnen gegeven.")
    summary = world.deliverer().flush()
    assert summary.line() == "delivered 1, to retry 0, dead 0"
    [row] = world.rows()
    assert (row.state, row.attempts, row.upstream_ref) == ("delivered", 1, f"/writeback/{row.idempotency_key}")
    doc = orjson.loads(receiver.stored[row.idempotency_key])
    assert doc["action"] == "create" and doc["kind"] == "logbook"
    assert doc["client"] == {"id": "C-17", "reference": "Patient/moeder"}
    assert doc["entry"] == {"id": row.resource_key, "time": "2026-11-30T10:00:00+01:00", "author": "M-1",
                            "text": "Medicijnen gegeven."}
    assert world.deliverer().flush().attempted == 0  # nothing is delivered twice
    _reconciles(world, receiver, 1)


def test_a_503_with_retry_after_is_tried_again_no_sooner_than_the_source_asked(world, receiver):
    receiver.script.extend(["503:600"])
    world.write()
    assert world.deliverer().flush().line() == "delivered 0, to retry 1, dead 0"
    [row] = world.rows()
    assert row.state == "pending" and row.last_error == "HTTP 503: maintenance"
    assert row.next_attempt_at - row.created_at >= timedelta(seconds=600)
    assert world.deliverer().flush().attempted == 0  # not due yet
    world.due_now()
    assert world.deliverer().flush().delivered == 1
    assert receiver.requests == [row.idempotency_key] * 2
    _reconciles(world, receiver, 1)


def test_a_lost_answer_after_a_read_timeout_is_repeated_under_the_same_key_and_stored_once(world, receiver):
    receiver.script.extend(["hang:5"])
    world.write()
    first = world.deliverer().flush()
    assert first.retrying == 1 and first.errors == ["timed out waiting for the source"]
    world.due_now()
    assert world.deliverer().flush().delivered == 1
    [row] = world.rows()
    assert row.attempts == 2 and len(receiver.requests) == 2 and len(receiver.stored) == 1
    _reconciles(world, receiver, 1)


def test_a_receiver_that_refuses_the_item_sends_it_to_the_dead_letters_at_once_with_the_reason(world, receiver):
    receiver.default = "refuse"
    world.write()
    assert world.deliverer().flush().line() == "delivered 0, to retry 0, dead 1"
    [row] = world.rows()
    assert (row.state, row.attempts, row.last_error) == ("dead", 1, "refused: HTTP 422: unknown client C-17")
    _reconciles(world, receiver, 1)


def test_an_item_that_keeps_failing_is_dead_after_the_last_attempt(world, receiver):
    receiver.default = "500"
    world.write()
    deliverer = world.deliverer(max_attempts=3)
    for _ in range(3):
        world.due_now()
        deliverer.flush()
    [row] = world.rows()
    assert (row.state, row.attempts) == ("dead", 3)
    assert row.last_error == "gave up after 3 attempts: HTTP 500: internal"
    _reconciles(world, receiver, 1)


def test_the_versions_of_one_resource_go_upstream_in_order(world, receiver):
    """While the first version of a Consent waits for a retry, its revocation waits behind it."""
    from outbox_world import network

    receiver.script.extend(["503:600"])
    grant = network()[5]
    grant.pop("id")
    mentor = world.headers("RelatedPerson/mentor")
    cid = world.http.post("/fhir/Consent", json=grant, headers=mentor).headers["Location"].split("/")[-3]
    assert world.http.put(f"/fhir/Consent/{cid}", json={**grant, "id": cid, "status": "inactive"},
                          headers=mentor).status_code == 200
    assert world.deliverer().flush().line() == "delivered 0, to retry 1, dead 0"
    assert [r.attempts for r in world.rows()] == [1, 0]
    world.due_now()
    assert world.deliverer().flush().delivered == 2
    first, second = world.rows()
    sent = [orjson.loads(receiver.stored[k]) for k in receiver.requests[1:]]
    assert [(d["action"], d["status"]) for d in sent] == [("create", "active"), ("update", "inactive")]
    assert sent[0]["idempotencyKey"] == first.idempotency_key and sent[1]["idempotencyKey"] == second.idempotency_key
    _reconciles(world, receiver, 2)


def test_an_unreachable_source_is_retried_and_an_unconfigured_one_is_a_dead_letter(settings, mint, tmp_path):
    from processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    world = World(settings, mint, write_config(tmp_path, HTTP_SOURCE.format(url=url, read=1)))
    try:
        world.write()
        summary = world.deliverer().flush()
        assert summary.retrying == 1 and summary.errors == ["could not connect to the source"]
        from connectors.config import Config

        world.config = Config(sources={})  # the source was removed from samenzorg.toml
        world.due_now()
        world.deliverer().flush()
        [row] = world.rows()
        assert (row.state, row.last_error) == ("dead", f"source '{SOURCE}' is not configured any more")
    finally:
        world.close()


@pytest.mark.parametrize("kind, suffix", [("network-json", ".json"), ("csv", ".csv")])
def test_a_folder_source_gets_one_file_per_item_named_by_its_key(settings, mint, tmp_path, kind, suffix):
    folder = tmp_path / "ecd"
    world = World(settings, mint, write_config(tmp_path, f'[sources.ecd-oost]\nkind = "{kind}"\nfolder = "{folder}"\n'))
    try:
        world.write('Zei: "goed geslapen", at, dronk.')
        assert world.deliverer().flush().delivered == 1
        [row] = world.rows()
        files = sorted(p.name for p in (folder / "outgoing").iterdir())
        assert files == [row.idempotency_key + suffix]  # no temporary file left behind
        content = (folder / "outgoing" / files[0]).read_bytes()
        if kind == "csv":
            import csv

            [record] = list(csv.DictReader(content.decode().splitlines()))
            assert (record["client"], record["author"], record["text"]) == ("C-17", "M-1", 'Zei: "goed geslapen", at, dronk.')
        else:
            assert orjson.loads(content)["entry"]["text"] == 'Zei: "goed geslapen", at, dronk.'
        # Delivered again (a worker died before recording it): the same file, not a second one.
        from connectors.push import PUSH
        from gateway.outbox.delivery import load_item

        with world.engine.connect() as conn:
            item = load_item(conn, row)
        PUSH[kind](None, world.config.sources[SOURCE], item)
        assert sorted(p.name for p in (folder / "outgoing").iterdir()) == files
        assert (folder / "outgoing" / files[0]).read_bytes() == content
    finally:
        world.close()


def test_a_claim_skips_items_another_worker_is_claiming_instead_of_waiting(world):
    """PostgreSQL: while one worker's claim transaction holds rows, another claims the rest at once."""
    from sqlalchemy import select

    from gateway.outbox.delivery import claim
    from gateway.storage.tables import outbox

    if world.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: its claims queue for the write lock")
    for i in range(6):
        world.write(f"Bericht {i}.")
    from gateway.storage.db import make_engine

    # A claim that waited for the held rows would fail after 5 s instead of hanging the test.
    other = make_engine(world.settings.database_url, connect_args={"options": "-c lock_timeout=5000"})
    with world.engine.connect() as holder, holder.begin():
        held = holder.execute(select(outbox.c.id).order_by(outbox.c.id).limit(3).with_for_update()).scalars().all()
        claimed = [r.id for r in claim(other, "other-worker", 10, 60)]
    other.dispose()
    assert len(held) == 3 and sorted(claimed) == sorted(set(r.id for r in world.rows()) - set(held))
    # Held rows were claimable once released; the claimed ones are leased and not claimed twice.
    assert [r.id for r in claim(world.engine, "third-worker", 10, 60)] == held
