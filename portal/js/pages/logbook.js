// The logbook: messages newest first with author and time, paged by the Bundle's `next` link,
// and a form to add one. Whether this person may read or add is asked of the client's Consent
// (Consent/$evaluate about oneself) before anything is fetched or typed; a 403 on posting is
// still answered in words, and the typed text is kept.
//
// GET  /fhir/Communication?subject=Patient/{id}&_sort=-sent&_count=10&_include=Communication:sender
//      &_include:iterate=PractitionerRole:practitioner          (then the `next` link as given)
// POST /fhir/Communication

import { handle, announce } from "../app.js";
import { FhirError } from "../fhir.js";
import { t } from "../i18n.js";
import { loadDraft, saveDraft } from "../session.js";
import { dateTimeInWords, el, nameOf } from "../words.js";

const PAGE_SIZE = 10;
const TOPIC_SYSTEM = "https://samenzorg.nl/fhir/CodeSystem/logbook-topic";
const TOPICS = ["observation", "wellbeing", "meals", "medication", "appointment", "incident", "handover", "other"];

function senderName(found, ref, me) {
  if (ref === me) return t("you");
  const sender = found.included.get(ref);
  if (!sender) return t("someone");
  if (sender.resourceType === "PractitionerRole") return nameOf(found.included.get((sender.practitioner || {}).reference) || sender);
  return nameOf(sender);
}

function messageItem(found, message, me) {
  const topic = ((message.category || [])[0] || {}).coding || [];
  const code = (topic[0] || {}).code;
  return el("li", {},
    el("p", { class: "meta" },
      el("time", { datetime: message.sent || "", text: dateTimeInWords(message.sent) }), " · ",
      t("by", { name: senderName(found, (message.sender || {}).reference, me) }),
      code ? ` · ${t(`topics.${code}`)}` : ""),
    ...(message.payload || []).map((p) => el("p", { text: p.contentString || "" })));
}

export async function logbookPage(ctx) {
  const patient = { reference: `Patient/${ctx.patientId}` };
  const out = [el("h1", { text: t("logbookTitle") }), el("p", { text: t("logbookIntro") })];
  const example = { resourceType: "Communication", status: "completed", subject: patient,
    sender: { reference: ctx.me.fhirUser }, payload: [{ contentString: "?" }] };
  const [mayRead, mayWrite] = await Promise.all([ctx.may("access", example), ctx.may("contribute", example)]);

  const form = writeForm(ctx, mayWrite && [...ctx.me.scopes].some((s) => /^(patient|user)\/(\*|Communication)\.c/.test(s)));
  if (!mayRead) {
    out.push(el("p", { class: "notice", id: "logbook-not-shared", text: t("logbookNotShared", { client: ctx.clientName }) }), form);
    return out;
  }
  out.push(form);
  const list = el("ol", { class: "log", id: "logbook", reversed: false });
  const more = el("p", {});
  out.push(list, more);
  const load = async (url) => {
    const found = await ctx.fhir.search(url);
    list.append(...found.resources.map((m) => messageItem(found, m, ctx.me.fhirUser)));
    more.replaceChildren();
    if (found.next) {
      more.append(el("button", { type: "button", class: "secondary", id: "older", text: t("older"), onclick: async () => {
        try {
          await load(found.next);
          const first = list.children[list.children.length - found.resources.length];
          announce(t("loaded", { page: t("logbookTitle") }));
          if (first) { first.setAttribute("tabindex", "-1"); first.focus(); }
        } catch (err) { handle(err); }
      } }));
    }
    return found;
  };
  const found = await load(`Communication?subject=Patient/${ctx.patientId}&_sort=-sent&_count=${PAGE_SIZE}`
    + "&_include=Communication:sender&_include:iterate=PractitionerRole:practitioner");
  if (!found.resources.length) out[out.indexOf(list)] = el("p", { id: "logbook", text: t("logbookEmpty") });
  return out;
}

function writeForm(ctx, allowed) {
  const section = el("section", { "aria-labelledby": "write-title" }, el("h2", { id: "write-title", text: t("writeTitle") }));
  if (!allowed) {
    section.append(el("p", { class: "notice", id: "cannot-write", text: t("cannotWrite", { client: ctx.clientName }) }));
    return section;
  }
  const feedback = el("p", { id: "write-feedback", role: "status" });
  const text = el("textarea", { id: "message", name: "message", required: true, "aria-describedby": "write-feedback" });
  text.value = loadDraft("logbook"); // typed before a session ran out, or before a reload
  text.addEventListener("input", () => saveDraft("logbook", text.value));
  const topic = el("select", { id: "topic", name: "topic" },
    TOPICS.map((c) => el("option", { value: c, text: t(`topics.${c}`), selected: c === "other" })));
  const form = el("form", { id: "write", novalidate: true },
    el("p", {}, el("label", { for: "message", text: t("messageLabel") }), el("br"), text),
    el("p", {}, el("label", { for: "topic", text: t("topicLabel") }), " ", topic),
    el("p", {}, el("button", { type: "submit", id: "send", text: t("send") })),
    feedback);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = text.value.trim();
    feedback.className = "";
    if (!body) {
      feedback.className = "notice";
      feedback.textContent = t("emptyMessage");
      text.focus();
      return;
    }
    const message = {
      resourceType: "Communication", status: "completed",
      category: [{ coding: [{ system: TOPIC_SYSTEM, code: topic.value }] }],
      subject: { reference: `Patient/${ctx.patientId}` }, sent: new Date().toISOString(),
      sender: { reference: ctx.me.fhirUser }, payload: [{ contentString: body }],
    };
    try {
      await ctx.fhir.create(message);
      saveDraft("logbook", "");
      text.value = "";
      sessionStorage.setItem("samenzorg.flash", t("sent"));
      window.dispatchEvent(new HashChangeEvent("hashchange")); // show it at the top of the list
    } catch (err) {
      if (err instanceof FhirError && err.status === 403) {
        feedback.className = "notice";
        feedback.textContent = t("writeRefused", { client: ctx.clientName });
      } else {
        handle(err);
      }
    }
  });
  const flash = sessionStorage.getItem("samenzorg.flash");
  if (flash) {
    sessionStorage.removeItem("samenzorg.flash");
    feedback.className = "ok";
    feedback.textContent = flash;
  }
  section.append(form);
  return section;
}
