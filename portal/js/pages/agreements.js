// Agreements (afspraken): the care-plan activities with performer and timing, and "my tasks
// this week" for the signed-in person. The server shows only the CarePlans the client's Consent
// lets this person see (all of them, or only their own).
//
// GET /fhir/CarePlan?subject=Patient/{id}&status=active&_include=CarePlan:performer
//     &_include:iterate=PractitionerRole:practitioner&_count=100

import { t } from "../i18n.js";
import { dayInWords, el, nameOf, timingInWords, thisWeek } from "../words.js";

function performerName(found, ref, me) {
  if (ref === me) return t("you");
  const member = found.included.get(ref);
  if (!member) return t("whoHidden");
  if (member.resourceType === "PractitionerRole") return nameOf(found.included.get((member.practitioner || {}).reference) || member);
  return nameOf(member);
}

export async function agreementsPage(ctx) {
  const found = await ctx.fhir.search(`CarePlan?subject=Patient/${ctx.patientId}&status=active`
    + "&_include=CarePlan:performer&_include:iterate=PractitionerRole:practitioner&_count=100");
  const activities = found.resources.flatMap((plan) => (plan.activity || []).map((a) => ({ plan, detail: a.detail || {} })));
  const out = [el("h1", { text: t("agreementsTitle") }), el("p", { text: t("agreementsIntro") })];

  const mine = activities.filter((a) => (a.detail.performer || []).some((p) => p.reference === ctx.me.fhirUser));
  if (ctx.me.fhirUser.startsWith("RelatedPerson/")) {
    const rows = mine.flatMap((a) => thisWeek(a.detail.scheduledTiming).map((when) => ({ ...when, a })))
      .sort((x, y) => (x.date ? x.date.getTime() : Infinity) - (y.date ? y.date.getTime() : Infinity));
    out.push(el("h2", { text: t("myWeek") }));
    out.push(rows.length
      ? el("ul", { id: "my-week" }, rows.map((r) => el("li", {},
        el("strong", { text: r.date ? dayInWords(r.date) : t("thisMonth") }), r.time ? ` ${r.time}` : "", ": ",
        r.a.plan.title || r.a.detail.description || "")))
      : el("p", { id: "my-week", text: t("myWeekNone") }));
  }

  out.push(el("h2", { text: t("allAgreements") }));
  if (!activities.length) {
    out.push(el("p", { id: "agreements-none", text: t("agreementsNone") }));
    return out;
  }
  out.push(el("ul", { class: "cards", id: "agreements" }, activities.map(({ plan, detail }) => el("li", { class: "card" },
    el("h3", { text: plan.title || detail.description || "" }),
    el("p", {}, el("strong", { text: `${t("who")}: ` }),
      (detail.performer || []).map((p) => performerName(found, p.reference, ctx.me.fhirUser)).join(", ") || t("whoHidden")),
    el("p", {}, el("strong", { text: `${t("when")}: ` }), timingInWords(detail.scheduledTiming) || "—"),
    plan.description ? el("p", {}, el("strong", { text: `${t("how")}: ` }), plan.description) : null))));
  return out;
}
