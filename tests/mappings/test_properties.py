"""Property tests: any valid timing, role set and sharing choice survives the round trip."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import codes, fhir_to_network, load_network, network_to_fhir

times = st.times().map(lambda t: t.replace(microsecond=0).isoformat())
days = st.lists(st.sampled_from(codes.DAYS_OF_WEEK), unique=True, max_size=7)


@st.composite
def repeats(draw) -> dict:
    repeat = {}
    if d := draw(days):
        repeat["dayOfWeek"] = d
    if t := draw(st.lists(times, max_size=3)):
        repeat["timeOfDay"] = t
    if draw(st.booleans()):
        repeat["period"] = draw(st.integers(1, 12))
        repeat["periodUnit"] = draw(st.sampled_from(codes.TIMING_UNITS))
        if draw(st.booleans()):
            repeat["frequency"] = draw(st.integers(1, 5))
    if draw(st.booleans()):
        repeat["duration"] = draw(st.floats(0.25, 8, allow_nan=False).map(lambda x: round(x, 2)))
        repeat["durationUnit"] = draw(st.sampled_from(codes.TIMING_UNITS))
    return repeat


informal_roles = st.lists(st.sampled_from(sorted(codes.INFORMAL_ROLES)), unique=True, max_size=4)
relationships = st.none() | st.sampled_from(sorted(codes.RELATIONSHIPS))
parts = st.lists(st.sampled_from([p for p in codes.SHARING_PARTS if p != "agreements"]), unique=True, min_size=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(repeat=repeats().filter(bool), roles=informal_roles, relationship=relationships, shared=parts,
       revoked=st.booleans(), seed=st.integers(0, 1000))
def test_any_valid_variation_survives_the_round_trip_through_a_server(minimal_doc, server, repeat, roles,
                                                                      relationship, shared, revoked, seed):
    doc = copy.deepcopy(minimal_doc)  # the fixture is shared by every example
    doc["agreements"][0]["timing"] = {"repeat": repeat}
    doc["members"][1]["roles"] = roles
    doc["members"][1].pop("relationship", None)
    if relationship:
        doc["members"][1]["relationship"] = relationship
    doc["sharing"][1].update(parts=shared, status="revoked" if revoked else "active")
    assert fhir_to_network(server(network_to_fhir(doc), seed=seed)) == load_network(doc)
