"""Benchmarks, run by hand: `make bench` (or `.venv/bin/python -m bench.run --help`).

Measures requests per second through the real Flask app (WSGI, in process,
one thread) on a real database, so the numbers show what the gateway code
costs per request without a network in between. Write the results you get
into bench/RESULTS.md with the date and the machine.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import orjson

from gateway import create_app
from gateway.auth import mint
from gateway.config import Settings
from gateway.storage.db import upgrade


def _care_plan(i: int, patient_id: str) -> dict:
    return {
        "resourceType": "CarePlan", "status": "active", "intent": "plan",
        "identifier": [{"system": "urn:bench:careplan", "value": str(i)}],
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "243114000"}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "description": f"Boodschappen doen, afspraak {i}",
        "period": {"start": "2026-01-01"},
        "activity": [{"detail": {
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "386229000"}]},
            "status": "scheduled",
            "scheduledTiming": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk", "dayOfWeek": ["sat"]}},
            "performer": [{"reference": "RelatedPerson/neighbour"}]}}],
    }


def _carer_and_consent(patient_id: str) -> list[dict]:
    """A neighbour whose Consent lets him see the care plans (and writes an AuditEvent per request)."""
    return [
        {"resourceType": "RelatedPerson", "id": "neighbour", "active": True,
         "patient": {"reference": f"Patient/{patient_id}"}},
        {"resourceType": "Consent", "id": "neighbour-consent", "status": "active",
         "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                               "code": "patient-privacy"}]},
         "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
         "patient": {"reference": f"Patient/{patient_id}"},
         "provision": {"type": "deny", "provision": [{
             "type": "permit",
             "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                             "code": "IRCP"}]},
                        "reference": {"reference": "RelatedPerson/neighbour"}}],
             "class": [{"system": "http://hl7.org/fhir/resource-types", "code": "CarePlan"}]}]}},
    ]


def _stored_count(url: str) -> int:
    from sqlalchemy import func, select

    from gateway.storage.db import make_engine
    from gateway.storage.tables import resources

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(resources)).scalar_one()
    finally:
        engine.dispose()


def _measure(client, path: str, seconds: float) -> tuple[float, int]:
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        resp = client.get(path)
        assert resp.status_code == 200, (path, resp.status_code)
        n += 1
    return n / (time.perf_counter() - start), n


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--resources", type=int, default=2000, help="CarePlans to store first")
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="samenzorg-bench-"))
    try:
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        if _stored_count(url):
            raise SystemExit("bench: the database is not empty; point --database-url at a scratch database.")
        settings = Settings(database_url=url, var_dir=str(tmp), jwt_secret="bench-only-secret-0123456789abcdef",
                            log_level="WARNING")
        app = create_app(settings)
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {mint(settings, scope='system/*.cruds')}"
        headers = {"Content-Type": "application/fhir+json"}
        pid = client.post("/fhir/Patient", data=orjson.dumps({"resourceType": "Patient"}), headers=headers).get_json()["id"]
        for resource in _carer_and_consent(pid):
            assert client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", data=orjson.dumps(resource),
                              headers=headers).status_code == 201
        carer = app.test_client()
        carer.environ_base["HTTP_AUTHORIZATION"] = \
            f"Bearer {mint(settings, scope='user/*.rs', fhir_user='RelatedPerson/neighbour')}"
        entries = [{"resource": _care_plan(i, pid), "request": {"method": "POST", "url": "CarePlan"}}
                   for i in range(args.resources)]
        t = time.perf_counter()
        for chunk in range(0, len(entries), 500):
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries[chunk:chunk + 500]}
            assert client.post("/fhir", data=orjson.dumps(bundle), headers={**headers, "Prefer": "return=minimal"}).status_code == 200
        load_s = time.perf_counter() - t
        one = client.get("/fhir/CarePlan?_count=1").get_json()
        cp_id = one["entry"][0]["resource"]["id"] if one.get("entry") else None

        cases = [("metadata", "/fhir/metadata")]
        if cp_id:
            cases += [("read CarePlan", f"/fhir/CarePlan/{cp_id}"),
                      ("vread CarePlan", f"/fhir/CarePlan/{cp_id}/_history/1")]
        cases += [("history page (20)", "/fhir/CarePlan/_history"),
                  ("search page (20, total)", f"/fhir/CarePlan?patient=Patient/{pid}&_total=accurate"),
                  ("search by token (1)", "/fhir/CarePlan?identifier=urn:bench:careplan|7")]
        carer_cases = []
        if cp_id:
            carer_cases.append(("carer: read CarePlan", f"/fhir/CarePlan/{cp_id}"))
        carer_cases.append(("carer: search page (20, total)", "/fhir/CarePlan?_total=accurate"))
        print(f"database: {url.split('://')[0]}, {args.resources} CarePlans "
              f"(transaction load: {args.resources / load_s:.0f} resources/s)")
        print(f"{'case':32} {'req/s':>8}  {'requests':>8}")
        for who, name, path in [(client, *c) for c in cases] + [(carer, *c) for c in carer_cases]:
            rate, n = _measure(who, path, args.seconds)
            print(f"{name:32} {rate:8.0f}  {n:8d}")
        app.extensions["samenzorg.engine"].dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
