"""`samenzorg worker` and `samenzorg outbox …` as real processes: workers that share the outbox deliver
each item once, a worker killed mid-delivery leaves its item to another, and the commands show and
correct what is there. (On PostgreSQL when SAMENZORG_TEST_DATABASE_URL is set: claims with SKIP LOCKED.)"""
import os
import signal
import subprocess
import sys
import time

import pytest
from outbox_world import World, write_config
from processes import run_cli, stop
from writeback_receiver import Receiver

DEADLINE = 90.0
SOURCE_TOML = ('[sources.ecd-oost]\nkind = "network-json"\nbase_url = "{url}"\n'
               'timeout = {{ connect = 2, read = 30 }}\n')


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def world(settings, mint, tmp_path, receiver):
    w = World(settings, mint, write_config(tmp_path, SOURCE_TOML.format(url=receiver.base_url)))
    yield w
    w.close()


@pytest.fixture
def env(world, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMENZORG_")}
    env.update(SAMENZORG_DATABASE_URL=world.settings.database_url, SAMENZORG_CONFIG=world.settings.config,
               SAMENZORG_VAR_DIR=str(tmp_path / "var"), SAMENZORG_LOG_LEVEL="INFO")
    return env


@pytest.fixture
def workers(env, tmp_path):
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(started)}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--idle", "0.2", *args],
                                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop(proc)


def _until(what: str, ready, tmp_path) -> None:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.1)
    logs = "\n".join(p.read_text() for p in sorted(tmp_path.glob("worker-*.log")))
    pytest.fail(f"waited {DEADLINE} s for {what}; worker logs:\n{logs}")


def test_two_workers_share_the_outbox_and_deliver_every_item_exactly_once(world, receiver, workers, tmp_path):
    from datetime import timedelta

    from sqlalchemy import update

    from gateway import fhirtime
    from gateway.storage.tables import outbox

    receiver.default = "slow:0.1"
    for i in range(30):
        world.write(f"Bericht {i}.")
    with world.engine.begin() as conn:  # not due until both workers run
        conn.execute(update(outbox).values(next_attempt_at=fhirtime.now() + timedelta(days=1)))
    logs = [tmp_path / "worker-0.log", tmp_path / "worker-1.log"]
    workers("--batch", "2")
    workers("--batch", "2")
    _until("both workers started", lambda: all(p.exists() and "worker.started" in p.read_text() for p in logs),
           tmp_path)
    world.due_now()
    _until("every item delivered", lambda: world.counts()["delivered"] == 30, tmp_path)
    rows = world.rows()
    assert sorted(receiver.requests) == sorted(r.idempotency_key for r in rows)  # no item pushed twice
    assert set(receiver.stored) == {r.idempotency_key for r in rows}
    assert {r.attempts for r in rows} == {1}
    assert all('"event":"outbox.delivered"' in p.read_text() for p in logs)  # both did part of the work


def test_an_item_whose_worker_was_killed_mid_delivery_is_delivered_once_by_another(world, receiver, workers,
                                                                                  tmp_path):
    receiver.script.append("hang:120")  # the record system stores the item, then its answer never comes
    world.write("Vlak voor de storing geschreven.")
    first = workers("--lease", "3")
    _until("the first worker's push", receiver.arrived.is_set, tmp_path)
    second = workers("--lease", "3")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=20)
    _until("the item delivered", lambda: world.counts()["delivered"] == 1, tmp_path)
    [row] = world.rows()
    assert row.attempts == 2 and row.lease_owner is None
    assert receiver.requests == [row.idempotency_key] * 2  # pushed twice under one key ...
    assert list(receiver.stored) == [row.idempotency_key]  # ... stored once
    assert world.counts() == {"pending": 0, "delivered": 1, "dead": 0, "dropped": 0}
    second.terminate()
    assert second.wait(timeout=20) == 0  # SIGTERM: finishes its pass and stops cleanly


def test_outbox_commands_show_flush_retry_and_drop_items(world, receiver, env, tmp_path):
    receiver.default = "refuse"
    world.write("Eerste.")
    world.write("Tweede.")
    flushed = run_cli("outbox", "flush", env=env, cwd=tmp_path)
    assert flushed.returncode == 0, flushed.stderr
    assert flushed.stdout.strip() == "delivered 0, to retry 0, dead 2"
    assert flushed.stderr.count('"event":"outbox.dead"') == 2  # one JSON line per event ...
    assert "Eerste" not in flushed.stderr and "Tweede" not in flushed.stderr  # ... never a resource body
    listed = run_cli("outbox", "list", "--state", "dead", env=env, cwd=tmp_path)
    assert listed.stdout.count("refused: HTTP 422: unknown client C-17") == 2
    assert listed.stdout.strip().endswith("0 pending, 0 delivered, 2 dead, 0 dropped")
    first, second = [r.id for r in world.rows()]
    assert run_cli("outbox", "drop", str(second), env=env, cwd=tmp_path).stdout.strip() == "1 item(s) dropped"
    receiver.default = "ok"
    assert run_cli("outbox", "retry", "--all-dead", env=env, cwd=tmp_path).stdout.strip() == "1 item(s) due again"
    assert run_cli("outbox", "flush", env=env, cwd=tmp_path).stdout.strip() == "delivered 1, to retry 0, dead 0"
    refused = run_cli("outbox", "drop", str(first), env=env, cwd=tmp_path)  # delivered: cannot be dropped
    assert (refused.returncode, refused.stdout.strip()) == (1, "0 item(s) dropped")
    assert world.counts() == {"pending": 0, "delivered": 1, "dead": 0, "dropped": 1}
    assert list(receiver.stored) == [world.rows()[0].idempotency_key]


def test_a_wrong_sources_file_is_an_error_message_not_a_traceback(env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.ecd]\nkind = "fhir"\nbase_url = "https://ecd.example/fhir"\nauth = { token = "s3cret" }\n')
    done = run_cli("outbox", "flush", env={**env, "SAMENZORG_CONFIG": str(bad)}, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "auth.token would put a secret in the file" in done.stderr and "s3cret" not in done.stderr


def test_serve_refuses_a_sources_file_that_is_not_there_with_a_message(env, tmp_path):
    done = run_cli("serve", "--port", "9", env={**env, "SAMENZORG_CONFIG": str(tmp_path / "missing.toml")},
                   cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "missing.toml, which is not a file" in done.stderr and "Traceback" not in done.stderr
