// The network: who is in the client's care team, in what role, who is the first contact
// person and how to reach each — only what the signed-in person may see.
//
// GET /fhir/CareTeam?subject=Patient/{id}&status=active&_include=CareTeam:participant
//     &_include:iterate=PractitionerRole:practitioner

import { t } from "../i18n.js";
import {
  availabilityInWords, el, informalRole, isFirstContact, nameOf, professionalRole, telecomInWords,
} from "../words.js";

export async function networkPage(ctx) {
  const out = [el("h1", { text: t("networkTitle") }), el("p", { text: t("networkIntro") })];
  const patient = { reference: `Patient/${ctx.patientId}` };
  if (!(await ctx.may("access", { resourceType: "CareTeam", status: "active", subject: patient }))) {
    out.push(el("p", { class: "notice", id: "network-not-shared", text: t("networkNotShared", { client: ctx.clientName }) }));
    return out;
  }
  const found = await ctx.fhir.search(`CareTeam?subject=Patient/${ctx.patientId}&status=active`
    + "&_include=CareTeam:participant&_include:iterate=PractitionerRole:practitioner");
  const people = [];
  for (const team of found.resources) {
    for (const p of team.participant || []) {
      const ref = (p.member || {}).reference;
      const member = found.included.get(ref);
      if (!member) continue; // a member this person may not see stays out of the page
      let person = member;
      let role;
      if (member.resourceType === "PractitionerRole") {
        person = found.included.get((member.practitioner || {}).reference) || member;
        role = professionalRole(member, p.role);
      } else if (member.resourceType === "RelatedPerson") {
        role = informalRole(member);
      } else {
        role = t("roleProfessional");
      }
      people.push({ ref, name: nameOf(person), role, first: isFirstContact(p.role), contact: member, person });
    }
  }
  if (!people.length) {
    out.push(el("p", { text: t("networkEmpty") }));
    return out;
  }
  people.sort((a, b) => Number(b.first) - Number(a.first));
  out.push(el("ul", { class: "cards", id: "network" }, people.map((p) => {
    const reach = [...telecomInWords(p.contact.telecom), ...(p.contact === p.person ? [] : telecomInWords(p.person.telecom))];
    const when = availabilityInWords(p.contact);
    return el("li", { class: "card" },
      el("h2", { text: p.name }),
      el("p", {}, p.role, p.first ? el("span", {}, " ", el("span", { class: "badge", text: t("firstContact") })) : null),
      reach.length
        ? el("p", {}, el("span", { class: "visually-hidden", text: `${t("reach")}: ` }),
          ...reach.map((r, i) => [i ? " · " : "", `${r.label}: `, r.href ? el("a", { href: r.href, text: r.value }) : r.value]))
        : el("p", { class: "meta", text: t("noContact") }),
      when.length ? el("p", { class: "meta" }, `${t("available")}: ${when.join("; ")}`) : null);
  })));
  return out;
}
