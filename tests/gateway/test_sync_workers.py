"""Schedules and leases: several workers sync each due source once; a dead worker's source is taken over."""
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sync_helpers import engine_for, local_counts, state

from connectors.config import parse_config
from gateway import fhirtime
from gateway.storage.tables import sync_state
from gateway.sync import SourceBusy, claim, run_sync, sync_due

NETWORKS = Path(__file__).resolve().parents[2] / "fixtures" / "networks"


@pytest.fixture
def engine(settings):
    engine = engine_for(settings)
    yield engine
    engine.dispose()


def folders(tmp_path, names):
    """A network-json folder source per name, each holding the demo networks; returns the config."""
    sources = {}
    for name in names:
        folder = tmp_path / name
        folder.mkdir()
        for p in NETWORKS.glob("*.json"):
            (folder / p.name).write_text(p.read_text())
        sources[name] = {"kind": "network-json", "folder": str(folder), "schedule": "1h",
                         "options": {"page_size": 2}}
    return sources


def test_only_due_sources_are_synced_and_a_second_pass_finds_nothing_due(engine, tmp_path):
    sources = folders(tmp_path, ["ecd-a", "ecd-b"])
    sources["ecd-b"].pop("schedule")  # by hand only
    config = parse_config({"sources": sources})
    first = sync_due(engine, None, config)
    assert [s["source"] for s in first] == ["ecd-a"] and first[0]["created"] > 0
    assert sync_due(engine, None, config) == []
    assert state(engine, "ecd-b") is None


def test_workers_running_at_once_sync_each_due_source_exactly_once(engine, tmp_path):
    names = ["ecd-a", "ecd-b", "ecd-c"]
    config = parse_config({"sources": folders(tmp_path, names)})
    results, errors = [], []

    def worker(i):
        try:
            results.extend(sync_due(engine, None, config, owner=f"worker-{i}"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert sorted(r["source"] for r in results) == names  # each once, by whichever worker claimed it
    totals = {n: local_counts(engine, f"urn:samenzorg:source:{n}") for n in names}
    assert totals["ecd-a"] == totals["ecd-b"] == totals["ecd-c"] and totals["ecd-a"]


def test_a_held_source_is_refused_and_a_lapsed_lease_is_taken_over_and_resumed(engine, tmp_path):
    config = parse_config({"sources": folders(tmp_path, ["ecd-a"])})
    source = config.source("ecd-a")
    assert claim(engine, "ecd-a", "dead-worker")
    with pytest.raises(SourceBusy):
        run_sync(engine, source, owner="live-worker")
    assert sync_due(engine, None, config, owner="live-worker") == []

    # The dead worker had stored two pages when it died; its lease lapses.
    with engine.begin() as conn:
        conn.execute(update(sync_state).where(sync_state.c.source == "ecd-a").values(
            cursor=json.dumps({"after": _second_file(source)}), running=True,
            lease_until=fhirtime.now() - timedelta(seconds=1)))
    [taken] = sync_due(engine, None, config, owner="live-worker")
    assert taken["fetched"] == len(list(NETWORKS.glob("*.json"))) - 4  # after its two stored pages, not all
    assert state(engine, "ecd-a").lease_owner is None


def test_a_worker_whose_lease_was_taken_stops_before_storing_another_page(engine, tmp_path):
    config = parse_config({"sources": folders(tmp_path, ["ecd-a"])})
    source = config.source("ecd-a")

    def steal(page, summary):
        if summary.pages == 1:
            with engine.begin() as conn:
                conn.execute(update(sync_state).where(sync_state.c.source == "ecd-a").values(lease_owner="other"))

    summary = run_sync(engine, source, owner="slow-worker", progress=steal)
    assert summary.error and "taken over" in summary.error
    assert summary.pages == 1 and summary.counts.fetched == 2
    assert state(engine, "ecd-a").lease_owner == "other"


def _second_file(source):
    """The cursor after the fourth file: what two stored pages of two files each leave."""
    folder = Path(source.folder)
    files = sorted((p.stat().st_mtime_ns, p.name) for p in folder.glob("*.json"))
    return list(files[3])
