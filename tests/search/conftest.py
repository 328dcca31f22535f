"""Search tests run against the real schema on SQLite and, when
SAMENZORG_TEST_DATABASE_URL is set, PostgreSQL too.

On PostgreSQL the tables live in their own schema (`search_tests`), so these
tests never touch the tables the rest of the suite migrates in `public`.
Resources are written the way the repository writes them: the `resources`
row with the JSON bytes, plus whatever `index_rows` returns.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from fhir_builders import actor, classes, consent, put_all
from sqlalchemy import delete, insert, select, text, update

from gateway.search import index_rows, match, search_bundle
from gateway.storage.db import make_engine
from gateway.storage.tables import INDEX_TABLES, metadata, resources

PG_URL = os.environ.get("SAMENZORG_TEST_DATABASE_URL")
BASE = "http://test/fhir"
KEY = b"paging-key-for-tests"
PG_SCHEMA = "search_tests"

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def _pg_engine():
    if not PG_URL:
        yield None
        return
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={PG_SCHEMA}"})
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        metadata.create_all(conn)
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, _pg_engine):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'search.db'}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with _pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield _pg_engine


class Store:
    """Writes resources as the repository does, and searches them."""

    def __init__(self, engine):
        self.engine = engine
        self.clock = datetime(2026, 1, 1, 12, 0, 0)

    def put(self, resource: dict, *, when: datetime | None = None) -> dict:
        rtype, rid_ = resource["resourceType"], resource["id"]
        self.clock = when or self.clock + timedelta(seconds=1)
        resource = {**resource, "meta": {**resource.get("meta", {}), "versionId": "1",
                                         "lastUpdated": self.clock.isoformat() + "Z"}}
        with self.engine.begin() as conn:
            row = conn.execute(select(resources.c.rid, resources.c.version).where(
                resources.c.res_type == rtype, resources.c.res_id == rid_)).first()
            values = dict(version=1 if row is None else row.version + 1, last_updated=self.clock,
                          deleted=False, body=orjson.dumps(resource))
            if row is None:
                rid = conn.execute(insert(resources).values(res_type=rtype, res_id=rid_, **values)
                                   .returning(resources.c.rid)).scalar_one()
            else:
                rid = row.rid
                conn.execute(update(resources).where(resources.c.rid == rid).values(**values))
            self._reindex(conn, rid, rtype, resource)
        return resource

    def delete(self, rtype: str, rid_: str) -> None:
        with self.engine.begin() as conn:
            rid = conn.execute(select(resources.c.rid).where(
                resources.c.res_type == rtype, resources.c.res_id == rid_)).scalar_one()
            conn.execute(update(resources).where(resources.c.rid == rid).values(deleted=True, body=None))
            self._reindex(conn, rid, rtype, None)

    def _reindex(self, conn, rid, rtype, resource):
        for table in INDEX_TABLES.values():
            conn.execute(delete(table).where(table.c.rid == rid))
        if resource is None:
            return
        for kind, rows in index_rows(resource).items():
            if rows:
                conn.execute(insert(INDEX_TABLES[kind]), [{**r, "rid": rid, "res_type": rtype} for r in rows])

    def search(self, rtype: str | None, query: str | list = "", *, strict: bool = True,
               restrict=None, key: bytes = KEY) -> dict:
        params = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query
        with self.engine.connect() as conn:
            body, _ = search_bundle(conn, res_type=rtype, params=params, base_url=BASE, strict=strict,
                                 page_key=key, restrict=restrict)
        return orjson.loads(body)

    def follow(self, bundle: dict, relation: str = "next", **kw) -> dict | None:
        url = next((l["url"] for l in bundle["link"] if l["relation"] == relation), None)
        if url is None:
            return None
        parts = urlsplit(url)
        path = parts.path.removeprefix("/fhir").strip("/")
        return self.search(path or None, parse_qsl(parts.query), **kw)

    def ids(self, rtype: str | None, query: str | list = "", **kw) -> list[str]:
        return ids(self.search(rtype, query, **kw))

    def match(self, rtype, query: str, restrict=None, limit=2):
        with self.engine.connect() as conn:
            return match(conn, rtype, parse_qsl(query, keep_blank_values=True), restrict=restrict,
                         limit=limit)


    @staticmethod
    def entries(bundle: dict, mode: str = "match") -> list[str]:
        """Ids of the entries in one search mode, in bundle order."""
        return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]

    @staticmethod
    def typed(bundle: dict, mode: str = "include") -> list[str]:
        """Sorted Type/id of the entries in one search mode."""
        return sorted(f"{e['resource']['resourceType']}/{e['resource']['id']}"
                      for e in bundle.get("entry", []) if e["search"]["mode"] == mode)


def ids(bundle: dict) -> list[str]:
    return Store.entries(bundle)


@pytest.fixture
def store(engine) -> Store:
    return Store(engine)


# -- a small, realistic care network served over HTTP (limits, cursors, fuzz) --------------
# Two clients, their carers, care plans and logbook; the daughter's Consent permits only part
# of her mother's record, and nothing of her father's.

EXTRA = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1"
RP_ROLE = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472"
ACCESS = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction", "code": "access"}]}
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
CARER = "RelatedPerson/dochter"


def _patient(pid, family, given, birth, bsn):
    return {"resourceType": "Patient", "id": pid, "active": True, "gender": "female", "birthDate": birth,
            "identifier": [{"system": BSN, "value": bsn}],
            "name": [{"family": family, "given": [given]}],
            "telecom": [{"system": "phone", "value": "0612345678"}, {"system": "email", "value": f"{pid}@x.nl"}],
            "address": [{"line": ["Dorpsstraat 1"], "city": "Utrecht", "postalCode": "3511AA"}]}


def _rp(rid, patient, family, *roles):
    return {"resourceType": "RelatedPerson", "id": rid, "active": True, "patient": {"reference": patient},
            "name": [{"family": family}], "gender": "male", "birthDate": "1970-05-05",
            "relationship": [{"coding": [{"system": s, "code": c}]} for s, c in roles]}


def _plan(pid, patient, performer, start, *, security=None):
    plan = {"resourceType": "CarePlan", "id": pid, "status": "active", "intent": "plan",
            "subject": {"reference": patient},
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "736353004"}], "text": "Zorg"}],
            "period": {"start": start, "end": "2027-01-01"},
            "activity": [{"detail": {"status": "scheduled", "code": {"text": "Boodschappen"},
                                     "performer": [{"reference": performer}],
                                     "scheduledPeriod": {"start": start}}}]}
    if security:
        plan["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                      "code": security}]}
    return plan


def _log(lid, patient, sender, sent, text, based_on):
    return {"resourceType": "Communication", "id": lid, "status": "completed",
            "subject": {"reference": patient}, "sender": {"reference": sender}, "sent": sent,
            "recipient": [{"reference": patient}],
            "basedOn": [{"reference": based_on}], "payload": [{"contentString": text}]}


NETWORK = [
    _patient("moeder", "de Vries", "Johanna", "1938-04-12", "111222333"),
    _patient("vader", "Jansen", "Piet", "1935-11-02", "444555666"),
    _rp("dochter", "Patient/moeder", "de Vries", (EXTRA, "100001")),
    _rp("buurman", "Patient/moeder", "Bakker", (RP_ROLE, "19")),
    _rp("zoon", "Patient/vader", "Jansen", (EXTRA, "100001")),
    {"resourceType": "Organization", "id": "thuiszorg", "name": "Thuiszorg Midden", "active": True},
    {"resourceType": "Practitioner", "id": "wv", "name": [{"family": "Visser", "given": ["Els"]}],
     "gender": "female"},
    {"resourceType": "PractitionerRole", "id": "rol-wv", "active": True,
     "practitioner": {"reference": "Practitioner/wv"}, "organization": {"reference": "Organization/thuiszorg"},
     "period": {"start": "2025-01-01"}},
    {"resourceType": "CareTeam", "id": "team-moeder", "status": "active", "subject": {"reference": "Patient/moeder"},
     "participant": [{"member": {"reference": "RelatedPerson/dochter"}},
                     {"member": {"reference": "RelatedPerson/buurman"}},
                     {"member": {"reference": "PractitionerRole/rol-wv"}}],
     "period": {"start": "2026-01-01"}},
    {"resourceType": "CareTeam", "id": "team-vader", "status": "active", "subject": {"reference": "Patient/vader"},
     "participant": [{"member": {"reference": "RelatedPerson/zoon"}}]},
    _plan("boodschappen", "Patient/moeder", "RelatedPerson/buurman", "2026-02-01"),
    _plan("medicatie", "Patient/moeder", "PractitionerRole/rol-wv", "2026-03-01"),
    _plan("geheim", "Patient/moeder", "PractitionerRole/rol-wv", "2026-03-02", security="R"),
    _plan("vader-plan", "Patient/vader", "RelatedPerson/zoon", "2026-04-01"),
    {"resourceType": "Goal", "id": "doel", "lifecycleStatus": "active", "subject": {"reference": "Patient/moeder"},
     "description": {"text": "Zelfstandig wonen"}, "startDate": "2026-01-01",
     "target": [{"dueDate": "2026-12-31"}]},
    _log("log-1", "Patient/moeder", "PractitionerRole/rol-wv", "2026-11-20T09:00:00+01:00",
         "Mevrouw sliep slecht.", "CarePlan/medicatie"),
    _log("log-2", "Patient/moeder", "RelatedPerson/dochter", "2026-11-21T18:30:00Z",
         "Boodschappen gedaan 🛒", "CarePlan/boodschappen"),
    _log("log-3", "Patient/vader", "RelatedPerson/zoon", "2026-11-22T08:00:00+01:00",
         "Alles goed.", "CarePlan/vader-plan"),
    # The daughter may see CareTeam, CarePlan (except restricted ones), Communication and Patient
    # of her mother; nothing of the father.
    consent("c-dochter", "Patient/moeder", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor(CARER)], "action": [ACCESS],
         "class": classes("CareTeam", "CarePlan", "Communication", "Patient"),
         "provision": [{"type": "deny", "securityLabel": [
             {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}]}]},
            dateTime="2026-03-01T10:00:00+01:00", performer=[{"reference": "Patient/moeder"}]),
    consent("c-zoon", "Patient/vader", {"type": "deny", "provision": [
        {"type": "permit", "actor": [actor("RelatedPerson/zoon")], "action": [ACCESS]}]},
            dateTime="2026-03-01T10:00:00+01:00", performer=[{"reference": "Patient/vader"}]),
]


H = {"Content-Type": "application/fhir+json"}


@pytest.fixture
def care_network(client):
    """The network, loaded through the API by a system client; returns that client."""
    return put_all(client, NETWORK)


@pytest.fixture
def carer(care_network, anonymous, mint):
    """A test client acting as the daughter (a RelatedPerson with a partial Consent)."""
    token = mint("user/*.cruds", fhir_user=CARER, client_id="familieportaal")
    anonymous.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return anonymous
