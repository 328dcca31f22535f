"""Write-back to a FHIR record system: a second Samenzorg, served on a free port, is the upstream.

Checked on the upstream itself: after lost answers, repeats and an upstream that was down, it holds
exactly one resource per item, found by the identifier Samenzorg assigned."""
import os

import pytest
import requests
from outbox_world import World, fhir_source, network, write_config
from processes import free_port, run_cli, serving

from connectors.push import WRITEBACK_SYSTEM
from gateway.auth import mint as mint_token
from gateway.config import Settings

UPSTREAM_SECRET = "upstream-test-secret-not-for-production"
AUTH = 'auth = { type = "bearer", token_env = "SAMENZORG_TEST_UPSTREAM_TOKEN" }\n'


@pytest.fixture(scope="module")
def upstream_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("upstream")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMENZORG_")}
    env.update(SAMENZORG_DATABASE_URL=f"sqlite:///{home / 'upstream.db'}", SAMENZORG_JWT_SECRET=UPSTREAM_SECRET,
               SAMENZORG_VAR_DIR=str(home / "var"), SAMENZORG_LOG_LEVEL="WARNING")
    done = run_cli("db", "upgrade", env=env, cwd=home)
    assert done.returncode == 0, done.stderr
    return env, home


@pytest.fixture(scope="module")
def upstream(upstream_env):
    env, home = upstream_env
    with serving(env, home, "--workers", "1", "--threads", "4") as base:
        yield f"{base}/fhir"


@pytest.fixture
def token(monkeypatch):
    token = mint_token(Settings(jwt_secret=UPSTREAM_SECRET), scope="system/*.cruds", client_id="samenzorg-outbox")
    monkeypatch.setenv("SAMENZORG_TEST_UPSTREAM_TOKEN", token)
    return token


def _upstream(base: str, token: str, query: str) -> list[dict]:
    resp = requests.get(f"{base}/{query}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return [e["resource"] for e in resp.json().get("entry", []) if e.get("search", {}).get("mode") == "match"]


def _with_key(base, token, res_type, key):
    return _upstream(base, token, f"{res_type}?identifier={WRITEBACK_SYSTEM}|{key}")


@pytest.fixture
def world(settings, mint, tmp_path, upstream, token):
    w = World(settings, mint, write_config(tmp_path, fhir_source(upstream, extra=AUTH)))
    yield w
    w.close()


def test_a_logbook_message_is_created_upstream_once_even_when_the_answer_was_lost(world, upstream, token):
    world.write("Mevrouw at goed.")
    assert world.deliverer().flush().delivered == 1
    [row] = world.rows()
    [created] = _with_key(upstream, token, "Communication", row.resource_key)
    assert created["payload"] == [{"contentString": "Mevrouw at goed."}]
    # Upstream knows the client and the daughter by their identifiers, never by our local ids.
    assert created["subject"] == {"type": "Patient", "identifier": network()[0]["identifier"][0]}
    assert created["sender"]["identifier"] == {"system": "https://ecd-oost.example/ids/member", "value": "M-1"}
    assert row.upstream_ref.startswith(f"Communication/{created['id']}")
    # The worker died after the push, before recording it: the item is due again, and pushed again.
    with world.engine.begin() as conn:
        from sqlalchemy import update

        from gateway.storage.tables import outbox

        conn.execute(update(outbox).values(state="pending", finished_at=None))
    assert world.deliverer().flush().delivered == 1
    assert [r["id"] for r in _with_key(upstream, token, "Communication", row.resource_key)] == [created["id"]]


def test_a_representatives_consent_is_created_updated_and_deleted_upstream_under_one_identifier(world, upstream, token):
    grant = network()[5]
    grant.pop("id")
    mentor = world.headers("RelatedPerson/mentor")
    cid = world.http.post("/fhir/Consent", json=grant, headers=mentor).headers["Location"].split("/")[-3]
    assert world.deliverer().flush().delivered == 1
    key = world.rows()[0].resource_key
    [first] = _with_key(upstream, token, "Consent", key)
    assert first["status"] == "active"
    assert world.http.put(f"/fhir/Consent/{cid}", json={**grant, "id": cid, "status": "inactive"},
                          headers=mentor).status_code == 200
    assert world.deliverer().flush().delivered == 1
    [second] = _with_key(upstream, token, "Consent", key)
    assert (second["id"], second["status"], second["meta"]["versionId"]) == (first["id"], "inactive", "2")
    assert world.http.delete(f"/fhir/Consent/{cid}", headers=world.headers("Patient/moeder")).status_code == 204
    assert world.deliverer().flush().delivered == 1
    assert _with_key(upstream, token, "Consent", key) == []
    assert world.counts() == {"pending": 0, "delivered": 3, "dead": 0, "dropped": 0}


def test_a_message_written_while_the_upstream_is_down_arrives_once_when_it_is_up(settings, mint, tmp_path,
                                                                                upstream_env, token):
    env, home = upstream_env
    port = free_port()
    world = World(settings, mint, write_config(tmp_path, fhir_source(f"http://127.0.0.1:{port}/fhir", extra=AUTH)))
    try:
        world.write("Geschreven terwijl het ECD plat lag.")
        for _ in range(3):  # down for a while: every attempt fails, none is lost
            world.due_now()
            assert world.deliverer().flush().errors == ["could not connect to the source"]
        [row] = world.rows()
        assert (row.state, row.attempts) == ("pending", 3)
        with serving(env, home, "--workers", "1", "--threads", "2", port=port) as base:
            world.due_now()
            assert world.deliverer().flush().delivered == 1
            world.due_now()
            assert world.deliverer().flush().attempted == 0
            assert len(_with_key(f"{base}/fhir", token, "Communication", row.resource_key)) == 1
        assert world.counts() == {"pending": 0, "delivered": 1, "dead": 0, "dropped": 0}
    finally:
        world.close()


def test_an_upstream_that_refuses_the_write_leaves_a_dead_letter_with_its_diagnostics(world, upstream, monkeypatch):
    read_only = mint_token(Settings(jwt_secret=UPSTREAM_SECRET), scope="system/*.rs", client_id="samenzorg-outbox")
    monkeypatch.setenv("SAMENZORG_TEST_UPSTREAM_TOKEN", read_only)  # the ECD lets us read, not write
    world.write()
    assert world.deliverer().flush().line() == "delivered 0, to retry 0, dead 1"
    [row] = world.rows()
    assert (row.state, row.attempts) == ("dead", 1)
    assert row.last_error == ("refused: HTTP 403: The token's scopes do not allow create on Communication.")
    assert world.counts() == {"pending": 0, "delivered": 0, "dead": 1, "dropped": 0}
