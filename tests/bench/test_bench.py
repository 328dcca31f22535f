"""The bench's own parts on a tiny scale: dataset, load generators, database checks, report.

The benchmark itself is never run as a test; these check that its pieces
measure what they say (a few seconds in all).
"""
from __future__ import annotations

import random
import threading

import orjson
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from bench import dataset, load, report, run, scenarios
from mappings import load_network, network_to_fhir


def test_networks_are_valid_deterministic_and_carers_fit_their_sharing():
    bsns = dataset.Bsns()
    first = [dataset.client(i, 100, seed=3, bsns=bsns) for i in range(12)]
    again = [dataset.client(i, 100, seed=3) for i in range(12)]
    assert [c.document for c in first] == [c.document for c in again]
    shapes = set()
    for c in first:
        doc = load_network(c.document)  # raises when the document is invalid
        assert 12 <= len(doc["logbook"]) <= 28
        sharing = {s["member"]: s for s in doc["sharing"]}
        for carer in c.carers:
            choice = sharing[carer.member]
            assert choice["status"] == "active" and "end" not in choice["period"]
            assert set(choice["parts"]) == carer.parts
            performed = {a["id"] for a in doc["agreements"] if carer.member in a["performers"]}
            if "own-agreements" in carer.parts:
                assert set(carer.careplans) == performed and performed
            shapes.add(frozenset(carer.parts))
    assert len(shapes) >= 3  # carers with partial access exist
    assert len({c.document["client"]["bsn"] for c in first}) == len(first)


def test_bsns_pass_the_eleven_check():
    bsns = dataset.Bsns()
    for n in range(50):
        digits = [int(d) for d in bsns[n]]
        assert sum(d * w for d, w in zip(digits, [9, 8, 7, 6, 5, 4, 3, 2, -1])) % 11 == 0


def test_shared_bundle_holds_the_pool_the_networks_refer_to():
    shared = {dataset.key_of(e) for e in dataset.shared_bundle(100, seed=3)["entry"]}
    for i in range(5):
        for entry in network_to_fhir(dataset.client(i, 100, seed=3).document)["entry"]:
            if entry["resource"]["resourceType"] in ("Organization", "Practitioner"):
                assert dataset.key_of(entry) in shared


def test_carers_are_asked_only_what_their_sharing_choice_shows():
    logbook_reader = scenarios.CarerIds("rp-log", frozenset({"logbook"}), [])
    own = scenarios.CarerIds("rp-own", frozenset({"own-agreements"}), ["cp-2"])
    world = [scenarios.ClientIds("p1", ["cp-1", "cp-2"], [logbook_reader, own])]
    plan = scenarios.build(world, "sys", lambda rp: f"token-{rp}", random.Random(1), 20,
                           scenarios.new_networks(30, 3, random.Random(1), count=3))
    asked = {(sc.name, sc.who): sc.requests for sc in plan}
    assert {r.path for r in asked["read CarePlan/{id}", "carer"]} == {"/fhir/CarePlan/cp-2"}
    assert {r.token for r in asked["read CarePlan/{id}", "carer"]} == {"token-rp-own"}
    assert {r.token for r in asked["Communication?subject&_sort=-sent&_count=20", "carer"]} == {"token-rp-log"}
    assert ("CareTeam?patient", "carer") not in asked  # nobody here may see the care team
    assert {r.path for r in asked["read CarePlan/{id}", "system"]} <= {"/fhir/CarePlan/cp-1", "/fhir/CarePlan/cp-2"}
    networks = asked["transaction: one new network", "system"]
    assert len(networks) == 3 and all(load.SEQ in r.body and b"SEQMARK" not in r.body for r in networks)


@pytest.fixture(scope="module")
def echo():
    """A threaded HTTP server on 127.0.0.1 that records POST bodies; GET /missing is a 404."""
    app = Flask(__name__)
    bodies: list[bytes] = []

    @app.get("/ok")
    def ok():
        return app.response_class(b'{"resourceType":"Bundle"}', content_type="application/fhir+json")

    @app.post("/echo")
    def echo_():
        bodies.append(request.get_data())
        return app.response_class(b"{}", status=201, content_type="application/fhir+json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, bodies
    server.shutdown()


@pytest.mark.parametrize("generator", ["python", "wrk"])
def test_generator_counts_answers_and_makes_each_templated_body_unique(echo, generator):
    if generator == "wrk" and not load.wrk_path():
        pytest.skip(f"wrk is not installed ({load.WRK_INSTALL})")
    port, bodies = echo
    seconds = 1 if generator == "wrk" else 0.3
    mixed = load.run(generator, port, [load.Request("GET", "/ok", "token"), load.Request("GET", "/missing")],
                     seconds, 2)
    assert mixed.requests > 10 and 0 < mixed.non_2xx < mixed.requests  # the 404s, and only those
    assert mixed.p50_ms <= mixed.p95_ms <= mixed.p99_ms
    bodies.clear()
    written = load.run(generator, port, [load.Request("POST", "/echo", "t", b'{"id": "N-@SEQ@"}')], seconds, 2)
    assert written.requests > 10 and written.non_2xx == 0
    assert len(set(bodies)) == len(bodies) >= written.requests
    assert all(b"@SEQ@" not in b and orjson.loads(b)["id"].startswith("N-") for b in bodies)


def test_python_generator_reports_statuses_and_cpu(echo):
    port, _ = echo
    result = load.run_python(port, [load.Request("GET", "/ok"), load.Request("GET", "/missing")], 0.3, 2,
                             processes=1)
    assert set(result.statuses) == {200, 404} and sum(result.statuses.values()) == result.requests
    assert result.non_2xx == result.statuses[404]
    assert 0 < result.generator_cpu < 2


def test_a_database_with_rows_is_refused(tmp_path):
    from gateway.storage.db import upgrade

    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert run.prepare_database(url).startswith("SQLite")  # empty: migrated and accepted
    upgrade(url)
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (x int)"))
        conn.execute(text("INSERT INTO notes VALUES (1)"))
    engine.dispose()
    with pytest.raises(SystemExit, match="not empty"):
        run.prepare_database(url)


def test_an_unreachable_postgresql_says_how_to_point_the_bench_at_one():
    pytest.importorskip("psycopg")
    with pytest.raises(SystemExit, match="(?s)cannot reach the database.*--database-url"):
        run.prepare_database("postgresql+psycopg://bench@127.0.0.1:1/nothing")


def _result(rate, p50=1.0):
    return load.Result(int(rate * 10), 10.0, p50, p50 * 2, p50 * 3, 0, 0, 0.1)


def test_report_relates_rows_to_the_ceiling_and_carers_to_system(tmp_path):
    rows = [report.Row("read", "system", _result(500), 90, 1.5), report.Row("read", "carer", _result(100), 95, 1.2),
            report.Row("ceiling: read", "none", _result(2000, 0.5), 30, 1.8)]
    report.relate(rows, {"read": 2000}, {"read": "read"})
    assert rows[0].vs_ceiling == pytest.approx(0.25) and rows[1].carer_vs_system == pytest.approx(0.2)
    text = report.table(rows)
    assert "| read | system | 500 | 1.0 | 2.0 | 3.0 | 0 | 5,000 | 90 |" in text and "| 25 % | – |" in text
    assert "PostgreSQL CPU" not in text
    rows[0].db_cpu = 0.5
    assert "PostgreSQL CPU" in report.table(rows) and "| 1.50 | 0.50 | 0.10 |" in report.table(rows)
    rows[0].worker_cpu = (1.0, 0.5)
    assert "| 1.50 (1.00 + 0.50) | 0.50 |" in report.table(rows) and "†" not in report.table(rows)
    rows[0].worker_cpu = (1.45, 0.05)
    assert "| 1.50 (1.45 + 0.05) † | 0.50 |" in report.table(rows) and "† one worker did" in report.table(rows)
    pytest.importorskip("matplotlib")
    report.plot(rows, tmp_path / "p.png", "t")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("clients", [1, 24, 25, 26, 1000, 10000])
def test_the_load_comes_in_parts_that_cover_every_client_once_and_grow_no_faster_than_doubling(clients):
    from bench.run import CHUNK, _chunks

    parts = _chunks(clients)
    assert [i for start, stop in parts for i in range(start, stop)] == list(range(clients))
    assert all(stop - start <= max(25, start) and stop - start <= CHUNK for start, stop in parts)
