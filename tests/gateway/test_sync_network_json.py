"""Syncing care-network documents: from a folder, and from a real HTTP list endpoint that misbehaves."""
import copy
import json
import os
from pathlib import Path

import pytest
from pull_upstreams import Fault, fake_ecd
from sqlalchemy import select
from sync_helpers import engine_for, local_counts, quarantined, source_for, state, sync

from connectors.network_json import bundle_resources
from gateway.storage.tables import sync_links
from mappings import network_to_fhir

NETWORKS = Path(__file__).resolve().parents[2] / "fixtures" / "networks"


def documents() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(NETWORKS.glob("*.json"))]


def expected(docs) -> dict[str, int]:
    """What the mapping makes of these documents: resources per type, each once."""
    seen = {(r["resourceType"], r["id"]) for d in docs for r in bundle_resources(network_to_fhir(d))}
    out: dict[str, int] = {}
    for t, _ in seen:
        out[t] = out.get(t, 0) + 1
    return out


def records_stored(engine, source_name) -> set[str]:
    with engine.connect() as conn:
        return {r for (r,) in conn.execute(select(sync_links.c.record).where(sync_links.c.source == source_name)
                                           .distinct())}


def reconcile(engine, source, upstream_ids: set[str], good_docs: list[dict]) -> None:
    """Every upstream record is stored or quarantined, none both; nothing duplicated locally."""
    stored = {r.removeprefix("CareTeam/") for r in records_stored(engine, source.name)}
    held = {q.record.removeprefix("CareTeam/") for q in quarantined(engine, source.name)}
    assert stored | held == upstream_ids
    assert not stored & held
    assert local_counts(engine, source.uri) == expected(good_docs)


@pytest.fixture
def engine(settings):
    engine = engine_for(settings)
    yield engine
    engine.dispose()


def invalid(doc: dict) -> dict:
    bad = copy.deepcopy(doc)
    bad["client"]["bsn"] = "123456789"  # fails the 11-check
    return bad


# -- a folder ------------------------------------------------------------------------------------

def write(folder: Path, name: str, content, when: int) -> None:
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.utime(path, ns=(when, when))  # the order files were dropped in, independent of the clock


def test_a_folder_sync_stores_each_document_quarantines_a_malformed_file_and_goes_on(engine, tmp_path):
    docs = documents()
    folder = tmp_path / "drop"
    folder.mkdir()
    for i, doc in enumerate(docs):
        write(folder, f"{doc['id']}.json", doc, 10**9 + i)
    write(folder, "broken.json", '{"id": "NW-X", "client": ', 10**9 + 50)
    source = source_for("ecd-map", "network-json", folder=str(folder), options={"page_size": 4})

    summary = sync(engine, source)

    assert summary.error is None
    assert summary.counts.fetched == len(docs) + 1 and summary.counts.quarantined == 1
    [held] = quarantined(engine, "ecd-map")
    assert held.record == "CareTeam/broken" and "not valid JSON" in held.reason
    reconcile(engine, source, {d["id"] for d in docs} | {"broken"}, docs)

    again = sync(engine, source)  # nothing new in the folder: nothing fetched
    assert again.counts.fetched == 0 and again.error is None


def test_a_changed_document_updates_in_place_and_a_deletion_removes_what_only_it_held(engine, tmp_path):
    docs = documents()
    folder = tmp_path / "drop"
    folder.mkdir()
    for i, doc in enumerate(docs):
        write(folder, f"{doc['id']}.json", doc, 10**9 + i)
    source = source_for("ecd-map", "network-json", folder=str(folder))
    assert sync(engine, source).error is None
    before = local_counts(engine, source.uri)

    changed = copy.deepcopy(docs[0])
    changed["members"] = [m for m in changed["members"] if m["id"] != "REL-61002"]  # the neighbour leaves
    changed["agreements"] = [a for a in changed["agreements"] if "REL-61002" not in a["performers"]]
    changed["sharing"] = [s for s in changed["sharing"] if s["member"] != "REL-61002"]
    changed["logbook"] = [e for e in changed["logbook"] if e["author"] != "REL-61002"]
    write(folder, f"{changed['id']}.json", changed, 10**9 + 100)
    write(folder, "gone.json", {"id": docs[1]["id"], "deleted": True}, 10**9 + 101)

    summary = sync(engine, source)

    assert summary.error is None and summary.counts.fetched == 2
    assert summary.counts.created == 0
    assert summary.counts.deleted > 0
    assert local_counts(engine, source.uri) == expected([changed, *docs[2:]])
    assert local_counts(engine, source.uri) != before


# -- a list endpoint over HTTP ---------------------------------------------------------------------

def http_source(ecd, **extra):
    return source_for("ecd-west", "network-json", base_url=ecd.base, retries=extra.pop("retries", 2),
                      options={"page_size": 2}, **extra)


def test_an_invalid_document_is_quarantined_with_its_reason_and_the_rest_is_synced(engine):
    docs = documents()
    items = [{"id": d["id"], "network": d} for d in docs]
    items[2] = {"id": docs[2]["id"], "network": invalid(docs[2])}
    with fake_ecd(networks=items) as ecd:
        summary = sync(engine, http_source(ecd))
        assert summary.error is None and summary.counts.quarantined == 1
        [held] = quarantined(engine, "ecd-west")
        assert held.record == f"CareTeam/{docs[2]['id']}" and "11-check" in held.reason
        good = docs[:2] + docs[3:]
        reconcile(engine, http_source(ecd), {d["id"] for d in docs}, good)

        ecd.networks.append({"id": docs[2]["id"], "network": docs[2]})  # the ECD corrects it
        again = sync(engine, http_source(ecd))
        assert again.counts.fetched == 1 and again.counts.quarantined == 0
        assert quarantined(engine, "ecd-west") == []
        reconcile(engine, http_source(ecd), {d["id"] for d in docs}, docs)


def test_a_503_with_retry_after_is_waited_out_and_the_page_fetched_again(engine):
    docs = documents()
    with fake_ecd(networks=[{"id": d["id"], "network": d} for d in docs],
                  faults=[Fault("cursor=2", times=1, status=503, retry_after="1")]) as ecd:
        summary = sync(engine, http_source(ecd))
        assert summary.error is None
        tries = [t for t, path in ecd.seen if "cursor=2" in path and "limit" in path]
        assert len(tries) == 2
        assert tries[1] - tries[0] >= 1.0  # Retry-After honoured (a lower bound only)
        reconcile(engine, http_source(ecd), {d["id"] for d in docs}, docs)


@pytest.mark.parametrize("fault, says", [
    (Fault("cursor=2", times=10, status=500), "HTTP 500"),
    (Fault("cursor=2", times=10, body=b'{"items": [{"id": '), "malformed JSON"),
    (Fault("cursor=2", times=10, hang=1.5), "timed out"),
], ids=["server-error", "malformed-json", "read-timeout"])
def test_a_page_that_fails_mid_sync_stops_the_run_and_the_next_run_resumes_after_the_last_stored_page(
        engine, fault, says):
    docs = documents()
    with fake_ecd(networks=[{"id": d["id"], "network": d} for d in docs], faults=[fault]) as ecd:
        source = http_source(ecd, retries=1, timeout={"connect": 5, "read": 0.5})
        stopped = sync(engine, source)
        assert stopped.error and says in stopped.error
        assert stopped.counts.fetched == 2  # the first page, stored
        row = state(engine, source.name)
        assert row.cursor == "2" and row.running and says in row.last_error
        assert local_counts(engine, source.uri) == expected(docs[:2])

        fault.times = 0  # the upstream recovers
        ecd.seen.clear()
        resumed = sync(engine, source)
        assert resumed.error is None
        assert "cursor=2" in ecd.seen[0][1]  # from the last stored page, not from the start
        assert resumed.counts.fetched == len(docs) - 2
        row = state(engine, source.name)
        assert not row.running and row.last_error is None
        reconcile(engine, source, {d["id"] for d in docs}, docs)


def test_the_log_has_one_json_line_per_event_and_never_a_token_or_a_record(engine, caplog):
    import logging

    docs = documents()
    with fake_ecd(networks=[{"id": d["id"], "network": d} for d in docs],
                  faults=[Fault("cursor=4", times=10, status=500)]) as ecd:
        source = source_for("ecd-west", "network-json", base_url=ecd.base, retries=0, options={"page_size": 2},
                            auth={"type": "bearer", "token_env": "UPSTREAM_TOKEN"})
        with caplog.at_level(logging.DEBUG, logger="samenzorg.sync"):
            summary = sync(engine, source, token="geheim-token-123")
    assert summary.error
    lines = [r.getMessage() for r in caplog.records if r.name == "samenzorg.sync"]
    events = [json.loads(line)["event"] for line in lines]
    assert events == ["sync.start", "sync.page", "sync.page", "sync.stopped"]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "geheim-token-123" not in everything
    assert "Hendriks" not in everything and "999993653" not in everything  # a client's name and BSN


def test_a_sync_process_killed_mid_run_is_resumed_from_its_last_stored_page(engine, settings, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    docs = documents()
    with fake_ecd(networks=[{"id": d["id"], "network": d} for d in docs],
                  faults=[Fault("cursor=4", times=1, hang=60)]) as ecd:
        config = tmp_path / "samenzorg.toml"
        config.write_text(f'[sources.ecd-west]\nkind = "network-json"\nbase_url = "{ecd.base}"\n'
                          f'options = {{ page_size = 2 }}\ntimeout = {{ connect = 5, read = 120 }}\n')
        env = {**os.environ, "SAMENZORG_DATABASE_URL": settings.database_url, "SAMENZORG_CONFIG": str(config),
               "SAMENZORG_VAR_DIR": str(tmp_path / "var"), "SAMENZORG_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "sync", "ecd-west", "--quiet"], env=env,
                                cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not (ecd.requests_to("cursor=4") and (state(engine, "ecd-west") or object).cursor == "4"):
                assert proc.poll() is None and time.monotonic() < deadline, "the sync never reached page three"
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        killed = state(engine, "ecd-west")
        assert killed.running and killed.lease_owner  # it died holding the lease, two pages stored
        assert local_counts(engine, "urn:samenzorg:source:ecd-west") == expected(docs[:4])

        ecd.seen.clear()
        source = source_for("ecd-west", "network-json", base_url=ecd.base, options={"page_size": 2})
        resumed = sync(engine, source)  # on this machine a dead holder's lease need not be waited out
        assert resumed.error is None and resumed.counts.fetched == len(docs) - 4  # after two stored pages
        assert "cursor=4" in ecd.seen[0][1]
        reconcile(engine, source, {d["id"] for d in docs}, docs)
