// "Wie ziet wat": for the client and their legal representative. Per person a switch per kind
// of information; saving writes a new version of that person's Consent (PUT with If-Match, so a
// change made meanwhile by someone else is never overwritten). "Bekijk als …" shows what the
// person sees now, and — before saving — what they would see with the change, both computed by
// the server (Patient/$access-preview; POST with the proposed Consent stores nothing). "Wie heeft gekeken"
// lists the AuditEvents of the client's record in words.
//
// GET  /fhir/RelatedPerson?patient=Patient/{id}&_count=100
// GET  /fhir/Consent?patient=Patient/{id}&_count=100
// GET  /fhir/CarePlan?subject=Patient/{id}&_count=100                 (whose agreements are whose)
// GET  /fhir/CareTeam?subject=Patient/{id}&_include=CareTeam:participant
//      &_include:iterate=PractitionerRole:practitioner                (names in "Wie heeft gekeken")
// GET  /fhir/Patient/{id}/$access-preview?actor=RelatedPerson/{rid}
// POST /fhir/Patient/{id}/$access-preview   Parameters: actor, consent (the proposed Consent)
// PUT  /fhir/Consent/{cid}   If-Match: W/"{version}"                  (or POST /fhir/Consent)
// GET  /fhir/AuditEvent?patient=Patient/{id}&_sort=-date&_count=50   (then the `next` link)

import { announce, handle } from "../app.js";
import { KINDS, KIND_TYPES, isAbout, readKinds, writeKinds } from "../consent-parts.js";
import { FhirError } from "../fhir.js";
import { t } from "../i18n.js";
import { dateTimeInWords, el, informalRole, isRepresentative, nameOf } from "../words.js";

function firstName(person) {
  return ((person.name || [])[0] || {}).given ? person.name[0].given[0] : nameOf(person);
}

export async function sharingPage(ctx) {
  const out = [el("h1", { text: t("sharingTitle") })];
  if (!ctx.manages) {
    out.push(el("p", { class: "notice", id: "sharing-not-yours", text: t("sharingNotYours") }));
    return out;
  }
  out.push(el("p", { text: t("sharingIntro") }));
  const pid = ctx.patientId;
  const [people, consents, plans, team] = await Promise.all([
    ctx.fhir.search(`RelatedPerson?patient=Patient/${pid}&_count=100`),
    ctx.fhir.search(`Consent?patient=Patient/${pid}&_count=100`),
    ctx.fhir.search(`CarePlan?subject=Patient/${pid}&_count=100`),
    ctx.fhir.search(`CareTeam?subject=Patient/${pid}&_include=CareTeam:participant`
      + "&_include:iterate=PractitionerRole:practitioner"),
  ]);
  // Names for "Wie heeft gekeken": the people of the network, professionals by their role too.
  const names = new Map(people.resources.map((p) => [`RelatedPerson/${p.id}`, nameOf(p)]));
  for (const [ref, r] of team.included) {
    if (r.resourceType === "Practitioner") names.set(ref, nameOf(r));
    if (r.resourceType === "PractitionerRole") {
      names.set(ref, nameOf(team.included.get((r.practitioner || {}).reference)));
    }
  }
  names.set(`Patient/${pid}`, ctx.clientName);
  const list = el("div", { id: "people" });
  for (const person of people.resources.filter((p) => p.active !== false)) {
    list.append(personSwitches(ctx, person, consents.resources, plans.resources));
  }
  out.push(el("h2", { text: t("peopleTitle") }), list);
  out.push(await whoLooked(ctx, names));
  return out;
}

function personSwitches(ctx, person, consents, plans) {
  const ref = `RelatedPerson/${person.id}`;
  const name = nameOf(person);
  const fieldset = el("fieldset", { class: "person", id: `person-${person.id}` },
    el("legend", {}, `${name} (${informalRole(person)})`));
  if (isRepresentative(person)) {
    fieldset.append(el("p", { text: t("representativeSeesAll", { name }) }));
    return fieldset;
  }
  let consent = consents.find((c) => isAbout(c, ref) && c.status === "active") || consents.find((c) => isAbout(c, ref));
  let { kinds, editable } = readKinds(consent, ref);
  const own = plans.filter((p) => (p.activity || []).some((a) => ((a.detail || {}).performer || []).some((x) => x.reference === ref)))
    .map((p) => `CarePlan/${p.id}`);
  if (!editable) {
    fieldset.append(el("p", { text: t("complexConsent", { name }) }));
    return fieldset;
  }
  const boxes = new Map();
  const switches = el("ul", { class: "switches" }, KINDS.map((kind) => {
    const id = `s-${person.id}-${kind}`;
    const box = el("input", { type: "checkbox", role: "switch", id, name: kind, checked: kinds.has(kind),
      disabled: kind === "own-agreements" && !own.length });
    boxes.set(kind, box);
    box.addEventListener("change", () => showPending().catch(handle));
    return el("li", {}, el("label", { for: id }, box, t(`kinds.${kind}`)));
  }));
  const pending = el("div", { class: "preview", id: `pending-${person.id}`, hidden: true, "aria-live": "polite" });
  const preview = el("div", { class: "preview", id: `preview-${person.id}`, hidden: true, "aria-live": "polite" });
  const feedback = el("p", { role: "status", id: `saved-${person.id}` });
  const chosen = () => new Set(KINDS.filter((k) => boxes.get(k).checked));

  function proposal() {
    return writeKinds({ consent, personRef: ref, patientRef: `Patient/${ctx.patientId}`, deciderRef: ctx.me.fhirUser,
      kinds: chosen(), ownAgreements: own, today: new Date().toISOString().slice(0, 10) });
  }

  /** What the person sees, in words, from $access-preview: now (GET), or once `proposed` is
   *  saved (POST with the proposed Consent; the server computes it, nothing is stored). */
  async function previewLines(proposed) {
    const actor = { name: "actor", valueReference: { reference: ref } };
    const out = proposed
      ? await ctx.fhir.operation(`Patient/${ctx.patientId}/$access-preview`, [actor, { name: "consent", resource: proposed }])
      : await ctx.fhir.read(`Patient/${ctx.patientId}/$access-preview?actor=${encodeURIComponent(ref)}`);
    const seen = [];
    for (const p of out.parameter || []) {
      if (p.name !== "type") continue;
      const type = (p.part.find((x) => x.name === "type") || {}).valueCode;
      const count = (p.part.find((x) => x.name === "count") || {}).valueInteger || 0;
      const ids = p.part.filter((x) => x.name === "resource").map((x) => x.valueReference.reference);
      if (type === "RelatedPerson" && count === 1 && ids[0] === ref) continue; // their own details
      const one = count === 1 ? t(`countOne.${type}`) : null;
      let line = one && one !== `countOne.${type}` ? one : t(`countOf.${type}`, { n: count });
      if (type === "CarePlan") {
        const titles = ids.map((id) => (plans.find((pl) => `CarePlan/${pl.id}` === id) || {}).title).filter(Boolean);
        if (titles.length) line += `: ${titles.join(", ")}`;
      }
      seen.push({ type, line });
    }
    return seen;
  }

  function linesElement(seen) {
    return seen.length
      ? el("ul", { "data-types": seen.map((x) => x.type).join(" ") }, seen.map((x) => el("li", { text: x.line })))
      : el("p", { "data-types": "", text: t("seesNothing", { name: firstName(person) }) });
  }

  let pendingRun = 0;
  async function showPending() {
    feedback.textContent = "";
    const now = chosen();
    const lost = KINDS.filter((k) => kinds.has(k) && !now.has(k)).map((k) => t(`kinds.${k}`));
    const gained = KINDS.filter((k) => !kinds.has(k) && now.has(k)).map((k) => t(`kinds.${k}`));
    if (!lost.length && !gained.length) {
      pending.hidden = true;
      pending.replaceChildren();
      return;
    }
    const run = ++pendingRun; // switches flipped quickly: only the last answer is shown
    const seen = await previewLines(proposal());
    if (run !== pendingRun) return;
    pending.hidden = false;
    pending.replaceChildren(
      el("h3", { text: t("viewAsAfter", { name: firstName(person) }) }),
      el("p", { class: "changed", text: t("unsaved") }),
      el("ul", {},
        lost.length ? el("li", { text: `${firstName(person)} ${t("willLose", { what: lost.join(", ") })}` }) : null,
        gained.length ? el("li", { text: `${firstName(person)} ${t("willGain", { what: gained.join(", ") })}` }) : null),
      linesElement(seen));
  }

  async function showPreview() {
    const seen = await previewLines(null);
    preview.hidden = false;
    preview.replaceChildren(el("h3", { text: t("viewAsTitle", { name: firstName(person) }) }), linesElement(seen));
  }

  async function save() {
    const next = proposal();
    try {
      const resp = consent
        ? await ctx.fhir.update(next, `W/"${consent.meta.versionId}"`)
        : await ctx.fhir.create(next);
      consent = resp.body;
      ({ kinds } = readKinds(consent, ref));
      pendingRun += 1;
      pending.hidden = true;
      pending.replaceChildren();
      feedback.className = "ok";
      feedback.textContent = t("saved", { name: firstName(person) });
      await showPreview();
    } catch (err) {
      if (err instanceof FhirError && err.status === 412) {
        consent = await ctx.fhir.read(`Consent/${consent.id}`);
        ({ kinds } = readKinds(consent, ref));
        for (const k of KINDS) boxes.get(k).checked = kinds.has(k);
        await showPending();
        feedback.className = "notice";
        feedback.textContent = t("conflict");
      } else {
        throw err;
      }
    }
  }

  const guard = (fn) => async () => { try { await fn(); } catch (err) { handle(err); } };
  fieldset.append(switches, el("div", { class: "actions" },
    el("button", { type: "button", id: `save-${person.id}`, text: t("save"), onclick: guard(save) }),
    el("button", { type: "button", class: "secondary", id: `view-as-${person.id}`,
      text: t("viewAs", { name: firstName(person) }), onclick: guard(async () => { await showPreview(); announce(t("viewAsTitle", { name: firstName(person) })); }) })),
  feedback, pending, preview);
  return fieldset;
}

function whatInWords(event) {
  const types = new Set();
  for (const e of event.entity || []) {
    if (e.role && e.role.code === "24" && e.query) {
      try { types.add(atob(e.query).split(/[?/]/)[0]); } catch { /* not ours */ }
    } else if (!e.role && e.what && e.what.reference) {
      types.add(e.what.reference.split("/")[0]);
    }
  }
  const words = [...types].map((type) => t(`what.${type}`)).filter((w) => typeof w === "string" && !w.startsWith("what."));
  return words.length ? [...new Set(words)].join(", ") : t("what.other");
}

async function whoLooked(ctx, names) {
  const section = el("section", { "aria-labelledby": "looked-title" },
    el("h2", { id: "looked-title", text: t("whoLookedTitle") }), el("p", { text: t("whoLookedIntro") }));
  const list = el("ul", { id: "who-looked" });
  const more = el("p", {});
  section.append(list, more);
  const load = async (url) => {
    const found = await ctx.fhir.search(url);
    const events = found.resources.filter((e) => ((e.agent || []).find((a) => a.requestor) || {}).who?.reference !== ctx.me.fhirUser);
    for (const e of events) {
      const whoRef = (((e.agent || []).find((a) => a.requestor) || {}).who || {}).reference || "";
      const code = ((e.subtype || [])[0] || {}).code || "other";
      const did = t(`did.${code}`);
      list.append(el("li", {},
        el("time", { datetime: e.recorded, text: dateTimeInWords(e.recorded) }), ": ",
        t("looked", { who: names.get(whoRef) || t("someone"), did: typeof did === "string" && !did.startsWith("did.") ? did : t("did.other"), what: whatInWords(e) }),
        e.outcome && e.outcome !== "0" ? ` ${t("refused")}` : ""));
    }
    more.replaceChildren();
    if (found.next) {
      more.append(el("button", { type: "button", class: "secondary", id: "more-looks", text: t("moreLooks"),
        onclick: async () => { try { await load(found.next); } catch (err) { handle(err); } } }));
    }
    if (!list.children.length && !found.next) list.replaceWith(el("p", { id: "who-looked", text: t("whoLookedNone") }));
  };
  await load(`AuditEvent?patient=Patient/${ctx.patientId}&_sort=-date&_count=50`);
  return section;
}
