"""The portal writes the Consent shape the mapping writes (mappings/sharing.py) and reads it back:
for every combination of kinds, the portal's consent-parts.js (run in Chromium) and the Python
mapping agree, so "Wie ziet wat" and a record system's sharing choices are one truth."""
from __future__ import annotations

import itertools
import json

from mappings.codes import SHARING_PARTS
from mappings.sharing import sharing_to_consent

PERSON = "RelatedPerson/kees"
OWN = ["CarePlan/boodschappen", "CarePlan/wandelen"]


def _python(parts):
    return sharing_to_consent({"parts": list(parts), "period": {"start": "2026-02-07"}, "status": "active",
                               "recordedAt": "2026-02-05T15:30:00+01:00"},
                              identifier={"system": "urn:x", "value": "1"}, patient_ref="Patient/johanna",
                              performer_ref="Patient/johanna", actor_ref=PERSON, organization_ref=None,
                              recorder_ref=None, own_agreement_refs=OWN)


def test_the_portal_and_the_mapping_write_and_read_the_same_consent_for_every_choice(browser, live):
    page = browser.new_page()
    try:
        page.goto(f"{live.base}/portal/")
        # At least one kind: the mapping has no Consent for sharing nothing (tested below).
        combos = [c for n in range(1, len(SHARING_PARTS) + 1) for c in itertools.combinations(SHARING_PARTS, n)
                  if not ("agreements" in c and "own-agreements" in c)]  # "all" includes "own"
        for parts in combos:
            mapped = _python(parts)
            out = page.evaluate("""async ([consent, kinds, own]) => {
                const m = await import('/portal/js/consent-parts.js');
                const read = m.readKinds(consent, 'RelatedPerson/kees');
                const written = m.writeKinds({consent, personRef: 'RelatedPerson/kees', patientRef: 'Patient/johanna',
                    deciderRef: 'Patient/johanna', kinds: new Set(kinds), ownAgreements: own, today: '2026-02-07'});
                return {read: [...read.kinds].sort(), editable: read.editable, written};
            }""", [mapped, list(parts), OWN])
            assert out["editable"], parts
            assert out["read"] == sorted(parts), parts
            # Same provisions, same identity of the Consent; only who decided and when are new.
            assert out["written"]["provision"] == json.loads(json.dumps(mapped["provision"])), parts
            assert out["written"]["identifier"] == mapped["identifier"]
            assert out["written"]["status"] == "active" and out["written"]["performer"] == [{"reference": "Patient/johanna"}]
        nothing = page.evaluate("""async (consent) => (await import('/portal/js/consent-parts.js')).writeKinds({
            consent, personRef: 'RelatedPerson/kees', patientRef: 'Patient/johanna', deciderRef: 'Patient/johanna',
            kinds: new Set(), ownAgreements: [], today: '2026-02-07'}).provision""", _python(["logbook"]))
        # Sharing nothing still names the person (a deny for them alone), so the Consent stays theirs.
        assert nothing == {"type": "deny", "provision": [{"type": "deny", "actor": [{
            "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
            "reference": {"reference": PERSON}}]}]}
        again = page.evaluate("""async (provision) => {
            const m = await import('/portal/js/consent-parts.js');
            const consent = {resourceType: 'Consent', status: 'active', provision};
            const read = m.readKinds(consent, 'RelatedPerson/kees');
            return {about: m.isAbout(consent, 'RelatedPerson/kees'), kinds: [...read.kinds], editable: read.editable};
        }""", nothing)
        assert again == {"about": True, "kinds": [], "editable": True}
    finally:
        page.close()


def test_a_consent_the_portal_does_not_understand_is_shown_read_only_and_kept(browser, live):
    page = browser.new_page()
    try:
        page.goto(f"{live.base}/portal/")
        odd = _python(["logbook"])
        odd["provision"]["provision"].append({"type": "permit", "actor": [{"reference": {"reference": PERSON}}],
                                              "securityLabel": [{"code": "R"}]})
        out = page.evaluate("""async (consent) => {
            const m = await import('/portal/js/consent-parts.js');
            const read = m.readKinds(consent, 'RelatedPerson/kees');
            const written = m.writeKinds({consent, personRef: 'RelatedPerson/kees', patientRef: 'Patient/johanna',
                deciderRef: 'Patient/johanna', kinds: new Set(), ownAgreements: [], today: '2026-02-07'});
            return {editable: read.editable, written};
        }""", odd)
        assert out["editable"] is False
        assert odd["provision"]["provision"][-1] in out["written"]["provision"]["provision"]  # never dropped
    finally:
        page.close()
