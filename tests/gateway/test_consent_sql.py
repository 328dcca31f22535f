"""The consent filter in SQL means exactly what `consent.evaluate` means over the same facts.

Random filter expressions over a fixed pool of stored resources: for every
type, the rows the SQL selects are the resources `evaluate` accepts.
"""
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

import consent
from consent import (And, AuthoredBy, DataDateIn, HasCode, HasSecurity, IdIn, Not, Or, ReferencedBy, References,
                     TypeIn)
from gateway.consent_sql import to_sql
from gateway.storage.tables import resources

H = {"Content-Type": "application/fhir+json"}
LABEL = ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "PSY")
TASK = ("https://samenzorg.nl/fhir/CodeSystem/care-task", "household")
POOL = [
    {"resourceType": "Patient", "id": "p"},
    {"resourceType": "RelatedPerson", "id": "r1", "patient": {"reference": "Patient/p"}},
    {"resourceType": "RelatedPerson", "id": "r2", "patient": {"reference": "Patient/p"}},
    {"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan", "subject": {"reference": "Patient/p"},
     "author": {"reference": "RelatedPerson/r1"}, "period": {"start": "2026-01-01", "end": "2026-03-31"},
     "category": [{"coding": [{"system": TASK[0], "code": TASK[1]}]}]},
    {"resourceType": "CarePlan", "id": "cp2", "status": "active", "intent": "plan", "subject": {"reference": "Patient/p"},
     "meta": {"security": [{"system": LABEL[0], "code": LABEL[1]}]}, "period": {"start": "2025-06-01"}},
    {"resourceType": "Communication", "id": "m1", "status": "completed", "subject": {"reference": "Patient/p"},
     "sender": {"reference": "RelatedPerson/r2"}, "sent": "2026-02-10T09:00:00+01:00",
     "basedOn": [{"reference": "CarePlan/cp1"}]},
    {"resourceType": "Communication", "id": "m2", "status": "completed", "subject": {"reference": "Patient/p"},
     "sender": {"reference": "RelatedPerson/r1"}, "meta": {"security": [{"system": LABEL[0], "code": LABEL[1]}]}},
    {"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active", "description": {"text": "Veilig thuis"},
     "subject": {"reference": "Patient/p"}, "startDate": "2024-05-01"},
    {"resourceType": "CareTeam", "id": "ct", "subject": {"reference": "Patient/p"},
     "participant": [{"member": {"reference": "RelatedPerson/r1"}}]},
]
REFS = [f"{r['resourceType']}/{r['id']}" for r in POOL] + ["Practitioner/elsewhere"]
TYPES = sorted({r["resourceType"] for r in POOL})
# Arbitrary instants, and the pool's own date boundaries (where < and <= differ).
BOUNDARIES = {t for r in POOL if (d := consent.facts_of(r).data_date) for t in (d.start, d.end) if t}
INSTANTS = [None, datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 15, tzinfo=timezone.utc),
            datetime(2027, 1, 1, tzinfo=timezone.utc), *sorted(BOUNDARIES)]

atoms = st.one_of(
    st.builds(TypeIn, st.frozensets(st.sampled_from(TYPES), max_size=3)),
    st.builds(IdIn, st.frozensets(st.sampled_from(REFS), max_size=3)),
    st.sampled_from([HasSecurity(*LABEL), HasSecurity("urn:other", "X"), HasCode(*TASK), HasCode("urn:other", "Y")]),
    st.builds(AuthoredBy, st.sampled_from(REFS)),
    st.builds(References, st.sampled_from(REFS)),
    st.builds(ReferencedBy, st.sampled_from(REFS), st.booleans()),
    st.builds(DataDateIn, st.sampled_from(INSTANTS), st.sampled_from(INSTANTS), st.booleans()),
)
expressions = st.recursive(
    atoms, lambda inner: st.one_of(st.builds(lambda xs: And(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
                                   st.builds(lambda xs: Or(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
                                   st.builds(Not, inner)), max_leaves=6)


def _facts(resource):
    ref = f"{resource['resourceType']}/{resource['id']}"
    referenced_by = frozenset(f"{o['resourceType']}/{o['id']}" for o in POOL if ref in consent.facts_of(o).references)
    return consent.facts_of(resource, referenced_by=referenced_by)


@pytest.fixture
def stored(client, app):
    for r in POOL:
        assert client.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r, headers=H).status_code == 201
    return app.extensions["samenzorg.engine"]


def test_sql_filter_selects_exactly_what_evaluate_accepts(stored):
    facts = {(r["resourceType"], r["id"]): _facts(r) for r in POOL}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(expr=expressions)
    def check(expr):
        with stored.connect() as conn:
            for rtype in TYPES:
                q = select(resources.c.res_id).where(resources.c.res_type == rtype, to_sql(expr, rtype))
                got = set(conn.execute(q).scalars())
                want = {rid for (t, rid), f in facts.items() if t == rtype and consent.evaluate(expr, f)}
                assert got == want, (rtype, expr)

    check()
