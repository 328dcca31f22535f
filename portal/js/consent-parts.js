// The client's Consent for one person, as "kinds of information" switches and back.
//
// The shape is the one Samenzorg's mapping writes (mappings/sharing.py): a base `deny` with
// nested `permit`s for one actor — access to the classes of the shared kinds, access to the
// person's own CarePlans as data instances, and the `contribute` action on Communication.
// Saving changes only those permits; anything else in the Consent is kept as it was.

const RESOURCE_TYPES = "http://hl7.org/fhir/resource-types";
const ACCESS = { system: "http://terminology.hl7.org/CodeSystem/consentaction", code: "access" };
const CONTRIBUTE = { system: "https://samenzorg.nl/fhir/CodeSystem/consent-action", code: "contribute" };
const IRCP = { system: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code: "IRCP" };

export const KINDS = ["care-team", "agreements", "own-agreements", "goals", "logbook", "contribute-logbook"];
export const KIND_CLASSES = {
  "care-team": ["CareTeam", "Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization"],
  agreements: ["CarePlan"],
  goals: ["Goal"],
  logbook: ["Communication"],
};
/** The resource types each kind lets a person see (for "after saving, X no longer sees …"). */
export const KIND_TYPES = { ...KIND_CLASSES, "own-agreements": ["CarePlan"], "contribute-logbook": [] };

function actorsOf(provision) {
  return (provision.actor || []).map((a) => (a.reference || {}).reference);
}

function hasAction(provision, action) {
  return (provision.action || []).some((c) => (c.coding || []).some((x) => x.system === action.system && x.code === action.code));
}

/** Which kinds a permit grants; null when it is not one of the mapping's shapes. */
function kindsOf(permit, personRef) {
  const actors = actorsOf(permit);
  if (actors.length !== 1 || actors[0] !== personRef || (permit.provision || []).length) return null;
  if (permit.type === "deny") return sharesNothing(permit) ? [] : null;
  if (permit.type !== "permit") return null;
  const classes = new Set((permit.class || []).filter((c) => c.system === RESOURCE_TYPES).map((c) => c.code));
  if (hasAction(permit, CONTRIBUTE)) return ["contribute-logbook"];
  if (!hasAction(permit, ACCESS)) return null;
  if (permit.data) return classes.size === 1 && classes.has("CarePlan") ? ["own-agreements"] : null;
  const kinds = Object.entries(KIND_CLASSES).filter(([, cls]) => cls.every((c) => classes.has(c))).map(([k]) => k);
  const covered = new Set(kinds.flatMap((k) => KIND_CLASSES[k]));
  return [...classes].every((c) => covered.has(c)) ? kinds : null;
}

// "Shares nothing" still names the person, as a deny for them alone: the Consent stays theirs,
// so the next change is a new version of it, never a second Consent.
function denyFor(personRef) {
  return { type: "deny", actor: [{ role: { coding: [IRCP] }, reference: { reference: personRef } }] };
}

function sharesNothing(provision) {
  return Object.keys(provision).every((k) => k === "type" || k === "actor" || k === "period");
}

/** Whether this Consent is the one about this person (its nested provisions name them only). */
export function isAbout(consent, personRef) {
  const nested = ((consent.provision || {}).provision || []);
  const actors = new Set(nested.flatMap(actorsOf));
  return actors.size === 1 && actors.has(personRef);
}

/** { kinds: Set, editable: bool } for a person's Consent (or none). */
export function readKinds(consent, personRef) {
  if (!consent) return { kinds: new Set(), editable: true };
  const root = consent.provision || {};
  const kinds = new Set();
  let editable = root.type === "deny" && !root.actor && !root.class && !root.data;
  for (const permit of root.provision || []) {
    const found = kindsOf(permit, personRef);
    if (found === null) editable = false; else found.forEach((k) => kinds.add(k));
  }
  if (consent.status !== "active") kinds.clear();
  return { kinds, editable };
}

function permit(personRef, period, action, classes, dataRefs = []) {
  const p = {
    type: "permit", period,
    actor: [{ role: { coding: [IRCP] }, reference: { reference: personRef } }],
    action: [{ coding: [action] }],
    class: classes.map((code) => ({ system: RESOURCE_TYPES, code })),
  };
  if (dataRefs.length) p.data = dataRefs.map((reference) => ({ meaning: "instance", reference: { reference } }));
  return p;
}

/** The next version of the person's Consent (or a new one) granting exactly `kinds`. */
export function writeKinds({ consent, personRef, patientRef, deciderRef, kinds, ownAgreements, today }) {
  const old = consent || {};
  const kept = ((old.provision || {}).provision || []).filter((p) => kindsOf(p, personRef) === null);
  const firstPeriod = (((old.provision || {}).provision || [])[0] || {}).period;
  const period = firstPeriod && firstPeriod.start ? { start: firstPeriod.start } : { start: today };
  const classes = Object.keys(KIND_CLASSES).filter((k) => kinds.has(k)).flatMap((k) => KIND_CLASSES[k]);
  const permits = [];
  if (classes.length) permits.push(permit(personRef, period, ACCESS, classes));
  if (kinds.has("own-agreements") && !kinds.has("agreements") && ownAgreements.length) {
    permits.push(permit(personRef, period, ACCESS, ["CarePlan"], ownAgreements));
  }
  if (kinds.has("contribute-logbook")) permits.push(permit(personRef, period, CONTRIBUTE, ["Communication"]));
  if (!permits.length) permits.push(denyFor(personRef));
  const provision = { type: "deny", provision: [...kept, ...permits] };
  const next = {
    resourceType: "Consent",
    status: "active",
    scope: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy" }] },
    category: [{ coding: [{ system: "http://loinc.org", code: "59284-0" }] }],
    policyRule: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "OPTIN" }] },
    ...old,
  };
  delete next.meta;
  delete next.text; // a narrative would now be out of date
  next.status = "active";
  next.patient = { reference: patientRef };
  next.dateTime = new Date().toISOString();
  next.performer = [{ reference: deciderRef }];
  next.provision = provision;
  return next;
}
