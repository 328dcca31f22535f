"""Syncing from a FHIR upstream: a second, real Samenzorg process holding the demo networks."""
import pytest
import requests
from pull_upstreams import Fault, fake_ecd
from sync_helpers import (NETWORK_TYPES, engine_for, local_counts, quarantined, samenzorg_upstream, source_for,
                          state, sync, upstream_counts)


@pytest.fixture
def upstream(tmp_path):
    with samenzorg_upstream(tmp_path) as (base, token):
        yield base, token


@pytest.fixture
def engine(settings):
    engine = engine_for(settings)
    yield engine
    engine.dispose()


def test_a_full_sync_stores_every_upstream_resource_once_and_a_second_run_changes_nothing(upstream, engine):
    base, token = upstream
    source = source_for("ecd-oost", "fhir", base_url=f"{base}/fhir", token=token, options={"page_size": 7})
    first = sync(engine, source, token=token)
    assert first.error is None
    wanted = {t: n for t, n in upstream_counts(base, token).items() if n}
    assert local_counts(engine, source.uri) == wanted
    assert first.counts.created == sum(wanted.values())
    assert first.counts.quarantined == 0 and quarantined(engine, "ecd-oost") == []

    again = sync(engine, source, token=token)
    assert again.error is None
    assert again.counts.created == again.counts.updated == again.counts.deleted == 0
    assert local_counts(engine, source.uri) == wanted
