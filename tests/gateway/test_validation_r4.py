"""Nothing invalid is stored: writes are FHIR R4 4.0.1 exactly (R4 guard, required
bindings, primitive rules, narrative rules, contained resources), each refusal a 422
OperationOutcome naming the element, with nothing stored."""
import copy

import pytest
from sqlalchemy import func, select

from gateway.storage.tables import resource_history, resources

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'
PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Jansen", "given": ["Els"]}]}
CAREPLAN = {
    "resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
    "subject": {"reference": "Patient/p1"},
    "activity": [{"detail": {"kind": "Task", "status": "scheduled", "description": "Boodschappen"}}],
}


def _stored(app) -> tuple[int, int]:
    with app.extensions["samenzorg.engine"].connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t).where(t.c.res_type != "AuditEvent")).scalar_one()
                     for t in (resources, resource_history))


def _with(base: dict, path: str, value) -> dict:
    """A copy of `base` with the element at a dotted path (list indexes as numbers) set."""
    out = copy.deepcopy(base)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = out
    for part in parents:
        node = node[part]
    node[last] = value
    return out


def _refused(app, api, resource, expression, *, put=False, code=None):
    before = _stored(app)
    if put:
        resp = api.put(f"{resource['resourceType']}/{resource['id']}", resource)
    else:
        resp = api.post(resource["resourceType"], resource)
    body = resp.get_json()
    assert resp.status_code == 422, body
    assert body["resourceType"] == "OperationOutcome"
    expressions = [e for issue in body["issue"] for e in issue.get("expression", [])]
    assert expression in expressions, body
    if code:
        assert code in [issue["code"] for issue in body["issue"]], body
    assert _stored(app) == before
    return body


@pytest.fixture
def patient(api):
    resp = api.put("Patient/p1", PATIENT)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# --- R4, not R4B ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, value", [
    ("valueCodeableReference", {"concept": {"text": "x"}}),
    ("valueRatioRange", {"lowNumerator": {"value": 1}, "denominator": {"value": 2}}),
])
def test_an_r4b_only_extension_value_is_refused(app, api, name, value):
    ext = [{"url": "http://example.org/ext", name: value}]
    _refused(app, api, _with(PATIENT, "extension", ext), f"Patient.extension[0].{name}", code="structure")


def test_an_extension_has_a_value_or_extensions_not_both(app, api):
    both = [{"url": "http://example.org/ext", "valueString": "x", "extension": [{"url": "a", "valueString": "y"}]}]
    _refused(app, api, _with(PATIENT, "extension", both), "Patient.extension[0]", code="invariant")
    _refused(app, api, _with(PATIENT, "extension", [{"url": "http://example.org/ext"}]), "Patient.extension[0]")


def test_elements_r4_does_not_have_are_refused_anywhere(app, api, patient):
    _refused(app, api, _with(CAREPLAN, "activity.0.detail.doseQuantity2", {"value": 1}),
             "CarePlan.activity[0].detail.doseQuantity2")
    _refused(app, api, _with(PATIENT, "fhir_comments", ["R4 JSON has no comments"]), "Patient.fhir_comments")
    _refused(app, api, _with(PATIENT, "meta", {"project": "x"}), "Patient.meta.project", put=True)
    _refused(app, api, _with(PATIENT, "_name", {"id": "x"}), "Patient._name")  # `_x` is for primitives only


def test_r4_elements_r4b_dropped_and_primitive_extensions_are_accepted(api):
    ext = [{"url": "http://example.org/ext", "valueMeta": {"versionId": "1"}}]
    assert api.post("Patient", _with(PATIENT, "extension", ext)).status_code == 201
    absent = {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                             "valueCode": "unknown"}]}
    given = _with(PATIENT, "name.0._given", [None, {"id": "g2"}, {"id": "g3"}])
    given["name"][0]["given"] += ["Maria", None]
    assert api.post("Patient", given | {"_gender": absent}).status_code == 201


def test_arrays_choices_and_required_elements_follow_r4(app, api, patient):
    _refused(app, api, _with(PATIENT, "name", {"family": "Jansen"}), "Patient.name", code="structure")
    _refused(app, api, _with(PATIENT, "gender", ["female"]), "Patient.gender")
    _refused(app, api, _with(PATIENT, "name.0.given", ["Els", None]), "Patient.name[0].given[1]")  # no _given
    _refused(app, api, _with(PATIENT, "deceasedBoolean", False) | {"deceasedDateTime": "2020"},
             "Patient.deceasedDateTime")
    no_intent = {k: v for k, v in CAREPLAN.items() if k != "intent"}
    _refused(app, api, no_intent, "CarePlan.intent", code="required")


# --- required bindings ---------------------------------------------------------------------

@pytest.mark.parametrize("resource, path, expression", [
    (PATIENT, "gender", "Patient.gender"),
    (CAREPLAN, "status", "CarePlan.status"),
    (CAREPLAN, "activity.0.detail.status", "CarePlan.activity[0].detail.status"),
    ({"resourceType": "Communication", "status": "completed"}, "status", "Communication.status"),
    ({"resourceType": "Consent", "status": "active", "scope": {"text": "x"}, "category": [{"text": "x"}], "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
      "provision": {"type": "permit"}}, "provision.type", "Consent.provision.type"),
    (_with(PATIENT, "telecom", [{"system": "phone", "value": "0612345678"}]), "telecom.0.system",
     "Patient.telecom[0].system"),
    (_with(PATIENT, "name", [{"use": "official", "family": "J"}]), "name.0.use", "Patient.name[0].use"),
    (_with(PATIENT, "text", {"status": "generated", "div": f"<div {XHTML}>Els</div>"}), "text.status",
     "Patient.text.status"),
])
def test_a_code_outside_its_required_value_set_is_refused(app, api, patient, resource, path, expression):
    if resource["resourceType"] in ("Communication", "Consent"):
        assert api.post(resource["resourceType"], resource).status_code == 201  # the valid one is stored
    body = _refused(app, api, _with(resource, path, "fax-machine"), expression, code="code-invalid")
    assert "fax-machine" in body["issue"][0]["diagnostics"]


def test_a_code_from_a_value_set_spanning_two_code_systems_is_accepted(app, api, patient):
    timing = {"repeat": {"when": ["MORN", "ACM"], "frequency": 1, "period": 1, "periodUnit": "d"}}
    plan = _with(CAREPLAN, "activity.0.detail.scheduledTiming", timing)
    assert api.post("CarePlan", plan).status_code == 201
    _refused(app, api, _with(plan, "activity.0.detail.scheduledTiming.repeat.periodUnit", "week"),
             "CarePlan.activity[0].detail.scheduledTiming.repeat.periodUnit")
    _refused(app, api, _with(plan, "activity.0.detail.scheduledTiming.repeat.when", ["MORN", "ZZZ"]),
             "CarePlan.activity[0].detail.scheduledTiming.repeat.when[1]")


# --- primitives ----------------------------------------------------------------------------

@pytest.mark.parametrize("path, value, expression", [
    ("name.0.family", "Jan\x00sen", "Patient.name[0].family"),
    ("name.0.given", ["E\x1bls"], "Patient.name[0].given[0]"),
    ("birthDate", "1940-13-01", "Patient.birthDate"),
    ("birthDate", "1940-1-1", "Patient.birthDate"),
    ("active", "true", "Patient.active"),
    ("multipleBirthInteger", "2", "Patient.multipleBirthInteger"),
    ("multipleBirthInteger", 2**31, "Patient.multipleBirthInteger"),
    ("implicitRules", "http://example.org/has space", "Patient.implicitRules"),
    ("identifier", [{"system": "urn:oid:2.16 840", "value": "1"}], "Patient.identifier[0].system"),
    ("gender", "fe  male", "Patient.gender"),
    ("meta", {"lastUpdated": "2024-01-01"}, "Patient.meta.lastUpdated"),
    ("photo", [{"data": "not base64!"}], "Patient.photo[0].data"),
    ("name.0.family", "   ", "Patient.name[0].family"),
])
def test_primitives_follow_their_r4_rules(app, api, path, value, expression):
    _refused(app, api, _with(PATIENT, path, value), expression, code="value")


def test_valid_primitives_with_tab_cr_lf_and_base64_with_line_breaks_are_stored(api):
    resource = _with(PATIENT, "name.0.family", "Jan\tsen\r\n") | {
        "photo": [{"contentType": "image/png", "data": "iVBORw0K\nGgoAAAAN\r\nSUhEUgAA"}],
        "birthDate": "1940-02", "multipleBirthInteger": 2, "active": True}
    resp = api.post("Patient", resource)
    assert resp.status_code == 201, resp.get_json()


def test_a_hostile_base64_value_is_refused_quickly(app, api):
    import time
    start = time.monotonic()
    _refused(app, api, _with(PATIENT, "photo", [{"data": "AAAA \n" * 5000 + "!"}]), "Patient.photo[0].data")
    assert time.monotonic() - start < 2  # the R4 regex as written backtracks exponentially


# --- narrative -----------------------------------------------------------------------------

@pytest.mark.parametrize("div", [
    f"<div {XHTML}><script>alert(1)</script>Els</div>",
    f'<div {XHTML}><p onclick="alert(1)">Els</p></div>',
    f'<div {XHTML}><a href="javascript:alert(1)">Els</a></div>',
    f'<div {XHTML}><a href=" JaVa&#9;Script:alert(1)">Els</a></div>',
    f'<div {XHTML}><img src="x" onerror="alert(1)"/>Els</div>',
    f'<div {XHTML}><object data="x">Els</object></div>',
    f'<div {XHTML}><iframe src="https://example.org"/>Els</div>',
    f'<div {XHTML}><form><input name="x"/></form>Els</div>',
    f'<div {XHTML}><p style="background:url(https://tracker.example)">Els</p></div>',
    "<div>Els</div>",
    f"<p {XHTML}>Els</p>",
    f"<div {XHTML}>  </div>",
    f"<div {XHTML}>Els &nbsp;</div>",
    f"<div {XHTML}><b>Els</div>",
    f'<!DOCTYPE d [<!ENTITY e "x">]><div {XHTML}>&e;</div>',
])
def test_narrative_outside_the_r4_rules_is_refused(app, api, div):
    _refused(app, api, _with(PATIENT, "text", {"status": "generated", "div": div}), "Patient.text.div")


def test_narrative_inside_the_r4_rules_is_stored(api):
    div = (f'<div {XHTML} xml:lang="nl"><h1>Els Jansen</h1><p class="x" style="color: red">Geboren '
           '<b>1940</b>&#160;&amp; <a href="https://example.org/a?b=1">meer</a></p>'
           '<table><tr><td colspan="2">cel</td></tr></table><img src="data:image/png;base64,AAAA" alt="foto"/>'
           "</div>")
    resp = api.post("Patient", _with(PATIENT, "text", {"status": "generated", "div": div}))
    assert resp.status_code == 201, resp.get_json()


# --- contained resources -------------------------------------------------------------------

def _plan_with(contained: list, author: str | None = "#pr1") -> dict:
    plan = copy.deepcopy(CAREPLAN) | {"contained": contained}
    if author:
        plan["author"] = {"reference": author}
    return plan


PR = {"resourceType": "Practitioner", "id": "pr1", "name": [{"family": "Bakker"}]}


def test_a_referenced_contained_resource_is_stored(api, patient):
    assert api.post("CarePlan", _plan_with([PR])).status_code == 201
    back = {"resourceType": "Goal", "id": "g1", "lifecycleStatus": "active", "description": {"text": "x"},
            "subject": {"reference": "#"}}
    assert api.post("CarePlan", _plan_with([back], author=None)).status_code == 201


@pytest.mark.parametrize("contained, author, expression, rule", [
    ([PR | {"contained": [PR | {"id": "pr2"}]}], "#pr1", "CarePlan.contained[0].contained", "dom-2"),
    ([PR], None, "CarePlan.contained[0]", "dom-3"),
    ([PR], "#pr9", "CarePlan.contained[0]", "dom-3"),
    ([PR | {"meta": {"versionId": "1"}}], "#pr1", "CarePlan.contained[0].meta.versionId", "dom-4"),
    ([PR | {"meta": {"lastUpdated": "2024-01-01T00:00:00Z"}}], "#pr1",
     "CarePlan.contained[0].meta.lastUpdated", "dom-4"),
    ([PR | {"meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                   "code": "R"}]}}], "#pr1", "CarePlan.contained[0].meta.security", "dom-5"),
    ([PR | {"gender": "sometimes"}], "#pr1", "CarePlan.contained[0].gender", "value set"),
    ([{"resourceType": "Medication", "id": "pr1"}], "#pr1", "CarePlan.contained[0].resourceType", "type"),
    ([PR | {"id": "pr_1"}], "#pr_1", "CarePlan.contained[0].id", "valid R4 id"),
])
def test_contained_resources_obey_dom_2_to_5(app, api, patient, contained, author, expression, rule):
    body = _refused(app, api, _plan_with(contained, author), expression)
    assert rule in " ".join(i["diagnostics"] for i in body["issue"])


def test_every_refusal_also_holds_for_update_and_patch(app, api, client, patient):
    _refused(app, api, _with(PATIENT, "gender", "sometimes"), "Patient.gender", put=True)
    import json
    ops = [{"op": "add", "path": "/name/0/family", "value": "a\x00b"}]
    resp = client.patch("/fhir/Patient/p1", data=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"})
    assert resp.status_code == 422 and resp.get_json()["issue"][0]["expression"] == ["Patient.name[0].family"]
    assert api.get("Patient/p1").get_json()["meta"]["versionId"] == "1"


def test_checked_ahead_skips_only_what_passed_and_copies_made_of_it():
    """Writes are checked before their transaction begins; inside, only the bodies that passed
    (and copies the transaction made of them) skip the costly checks."""
    from gateway.errors import Invalid
    from gateway.validation import checked_ahead, same_validity, validate_resource

    good, bad = copy.deepcopy(PATIENT), _with(PATIENT, "birthDate", "gisteren")
    with checked_ahead([good, bad]):
        assert validate_resource(good) is good
        with pytest.raises(Invalid):
            validate_resource(bad)
        resolved = same_validity(good, {**good, "id": "p2"})
        assert validate_resource(resolved) is resolved
        unrelated = {**bad, "birthDate": "gisteren"}
        with pytest.raises(Invalid):
            validate_resource(same_validity(bad, unrelated))
        # A body edited after it was checked is another object: checked again.
        with pytest.raises(Invalid):
            validate_resource(_with(good, "gender", "vrouw"))
    with pytest.raises(Invalid):  # outside: nothing is known
        validate_resource(same_validity(good, _with(good, "gender", "vrouw")))


def test_a_transaction_stores_nothing_invalid_that_its_reference_rewriting_could_hide(api, app):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:7f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b", "resource": {"resourceType": "Patient", "name": [{"family": "Jansen"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": _with(CAREPLAN, "subject.reference", "urn:uuid:7f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b")
         | {"status": "bezig"}, "request": {"method": "POST", "url": "CarePlan"}},
    ]}
    before = _stored(app)
    resp = api.post("", bundle)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["issue"][0]["diagnostics"].startswith("Bundle.entry[1]")
    assert _stored(app) == before
