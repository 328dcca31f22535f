"""capability() lists exactly what works: every listed parameter, include and revinclude runs."""
import pytest

from gateway.search import REGISTRY, capability

SAMPLE = {"token": "x", "string": "x", "date": "ge2026", "uri": "http://x", "reference": None}
SERVED = ("Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization", "CareTeam",
          "CarePlan", "Goal", "Consent", "Communication", "AuditEvent", "Provenance", "Subscription")


def test_every_served_type_and_the_system_level_are_described():
    cap = capability()
    assert set(cap) == set(SERVED) | {"*"}
    for rtype in SERVED:
        for p in cap[rtype]["searchParam"]:
            # R4's own parameters, or one of ours with its own canonical URL and documentation.
            assert p["definition"].startswith("http://hl7.org/fhir/SearchParameter/") or (
                p["definition"] == f"https://samenzorg.nl/fhir/SearchParameter/{rtype}-{p['name']}"
                and "R4" in p["documentation"]), p
            assert p["type"] in ("token", "string", "reference", "date", "uri")


def test_the_brief_s_parameters_are_all_there():
    wanted = {
        "Patient": "identifier name family given birthdate gender active",
        "RelatedPerson": "patient identifier name relationship active",
        "Practitioner": "identifier name",
        "PractitionerRole": "practitioner organization role specialty identifier",
        "Organization": "identifier name",
        "CareTeam": "patient subject participant status category date identifier",
        "CarePlan": "patient subject status intent category date care-team goal performer activity-code "
                    "activity-date identifier",
        "Goal": "patient lifecycle-status identifier",
        "Consent": "patient status scope category actor action period date purpose security-label identifier",
        "Communication": "subject patient sender recipient category sent received status encounter based-on "
                         "part-of identifier",
        "AuditEvent": "patient agent entity date type subtype action outcome",
        "Provenance": "target patient agent recorded",
    }
    common = {"_id", "_lastUpdated", "_tag", "_profile", "_security"}
    for rtype, names in wanted.items():
        listed = {p["name"] for p in capability()[rtype]["searchParam"]}
        assert set(names.split()) | common <= listed, rtype


@pytest.mark.parametrize("rtype", SERVED)
def test_every_listed_parameter_runs(store, rtype):
    for p in capability()[rtype]["searchParam"]:
        param = REGISTRY[rtype][p["name"]]
        value = SAMPLE[p["type"]] or f"{param.targets[0]}/x"
        assert store.search(rtype, [(p["name"], value)])["total"] == 0
        if param.column is None:
            store.search(rtype, [(f"{p['name']}:missing", "true")])
        if p["type"] in ("token", "string", "date"):
            store.search(rtype, [("_sort", f"-{p['name']}")])


@pytest.mark.parametrize("rtype", SERVED)
def test_every_listed_include_and_revinclude_runs(store, rtype):
    store.put({"resourceType": rtype, "id": "one"})
    cap = capability()[rtype]
    for inc in cap["searchInclude"]:
        assert store.search(rtype, [("_include", inc)])["total"] == 1
    for rev in cap["searchRevInclude"]:
        assert store.search(rtype, [("_revinclude", rev)])["total"] == 1


def test_system_level_parameters_run(store):
    for p in capability()["*"]["searchParam"]:
        value = {"_type": "Patient,Goal"}.get(p["name"]) or SAMPLE[p["type"]]
        store.search(None, [(p["name"], value)])
