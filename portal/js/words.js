// FHIR shapes in plain words: names, roles, timing, dates. And a tiny DOM builder.

import { locale, t } from "./i18n.js";

const COD472 = "urn:oid:2.16.840.1.113883.2.4.3.11.22.472";
const EXTRA_ROLES = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.23.1";
const NETWORK_ROLE = "https://samenzorg.nl/fhir/CodeSystem/network-role";
const ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const DISCIPLINE = "https://samenzorg.nl/fhir/CodeSystem/discipline";
const PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const SNOMED = "http://snomed.info/sct";

// Legal representatives for care decisions (Wgbo): mentor, curator, guardian, legal
// representative, written authorisation. Being the main family carer alone does not count.
const REPRESENTATIVE = new Set([`${COD472}|03`, `${COD472}|11`, `${COD472}|15`, `${COD472}|24`,
  `${NETWORK_ROLE}|written-authorisation`]);

/** el("p", {class: "x"}, "text", child…): a DOM element; text is always set as text, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function nameOf(resource) {
  if (!resource) return t("someone");
  if (resource.resourceType === "Organization") return resource.name || t("someone");
  const name = (resource.name || [])[0];
  if (!name) return t("someone");
  if (name.text) return name.text;
  return [...(name.given || []), name.family || ""].join(" ").trim() || t("someone");
}

function codings(concepts) {
  return (concepts || []).flatMap((c) => c.coding || []);
}

export function isRepresentative(relatedPerson) {
  return codings(relatedPerson && relatedPerson.relationship).some((c) => REPRESENTATIVE.has(`${c.system}|${c.code}`));
}

export function isFirstContact(concepts) {
  return codings(concepts).some((c) => c.system === COD472 && c.code === "01");
}

const INFORMAL_WORDS = {
  [`${COD472}|19`]: "roleNeighbour", [`${COD472}|20`]: "roleFriend", [`${NETWORK_ROLE}|volunteer`]: "roleVolunteer",
  [`${EXTRA_ROLES}|100001`]: "roleMantelzorger", [`${COD472}|15`]: "roleMentor", [`${COD472}|03`]: "roleCurator",
  [`${COD472}|11`]: "roleGuardian", [`${COD472}|24`]: "roleRepresentative",
  [`${NETWORK_ROLE}|written-authorisation`]: "roleAuthorised", [`${NETWORK_ROLE}|coordinator`]: "roleCoordinator",
};

/** A RelatedPerson's role in words: "family (Dochter), family carer" / "neighbour". */
export function informalRole(relatedPerson) {
  const words = [];
  for (const c of codings(relatedPerson.relationship)) {
    if (c.system === ROLE_CODE) words.unshift(`${t("roleFamily")}${c.display ? ` (${c.display.toLowerCase()})` : ""}`);
    const key = INFORMAL_WORDS[`${c.system}|${c.code}`];
    if (key && !words.includes(t(key))) words.push(t(key));
  }
  return words.join(", ") || t("roleInformal");
}

const DISCIPLINE_WORDS = { wijkverpleegkundige: "roleNurse", verpleegkundige: "roleNurse", huisarts: "roleGp",
  "casemanager-dementie": "roleCaseManager" };

/** A professional's role in words, from the PractitionerRole's discipline or the team role. */
export function professionalRole(practitionerRole, teamRoles) {
  for (const c of codings(practitionerRole && practitionerRole.specialty)) {
    if (c.system === DISCIPLINE) return DISCIPLINE_WORDS[c.code] ? t(DISCIPLINE_WORDS[c.code]) : (c.display || c.code).toLowerCase();
  }
  for (const c of codings(teamRoles)) {
    if (c.system === SNOMED && c.code === "768832004") return t("roleCaseManager");
    if (c.system === PARTICIPATION && c.code === "RESP") return t("roleGp");
  }
  return t("roleProfessional");
}

const DAY_INDEX = { mon: 0, tue: 1, wed: 2, thu: 3, fri: 4, sat: 5, sun: 6 };

function hhmm(time) {
  return String(time).slice(0, 5);
}

/** Timing.repeat in words: "every Saturday at 10:00, 90 minutes". */
export function timingInWords(timing) {
  const r = (timing && timing.repeat) || {};
  const parts = [];
  const period = Number(r.period || 1);
  const days = (r.dayOfWeek || []).map((d) => t("days")[DAY_INDEX[d]]);
  if (r.periodUnit === "d") parts.push(period === 1 ? t("everyDay") : t("everyNDays", { n: period }));
  else if (r.periodUnit === "wk") {
    if (days.length) parts.push((period === 1 ? "" : t("everyNWeeks", { n: period }) + " ") + t("on", { days: days.join(", ") }));
    else parts.push(period === 1 ? t("everyWeek") : t("everyNWeeks", { n: period }));
  } else if (r.periodUnit === "mo") parts.push(t("everyMonth"));
  else if (days.length) parts.push(t("on", { days: days.join(", ") }));
  if ((r.timeOfDay || []).length) parts.push(t("at", { times: r.timeOfDay.map(hhmm).join(", ") }));
  if (r.duration && (r.durationUnit === "h" || r.durationUnit === "min")) {
    const n = Number(r.duration);
    parts.push(r.durationUnit === "h" ? t("hours", { n }) : t("minutes", { n }));
  }
  return parts.join(", ");
}

/** The days of this week (Monday first) on which a Timing falls: [{date, time}]; monthly
 *  tasks come back with date null ("this month"). */
export function thisWeek(timing, today = new Date()) {
  const r = (timing && timing.repeat) || {};
  const monday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - ((today.getDay() + 6) % 7));
  const days = Array.from({ length: 7 }, (_, i) => new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + i));
  const time = (r.timeOfDay || []).map(hhmm).join(", ");
  if (r.periodUnit === "d" && Number(r.period || 1) === 1) return days.map((date) => ({ date, time }));
  if ((r.dayOfWeek || []).length) return days.filter((d, i) => r.dayOfWeek.some((w) => DAY_INDEX[w] === i)).map((date) => ({ date, time }));
  if (r.periodUnit === "wk" || r.periodUnit === "mo") return [{ date: null, time }];
  return [];
}

export function dateTimeInWords(value) {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value || "";
  return d.toLocaleString(locale(), { weekday: "short", day: "numeric", month: "long", year: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function dayInWords(date) {
  return date.toLocaleDateString(locale(), { weekday: "long", day: "numeric", month: "long" });
}

export function telecomInWords(telecom) {
  return (telecom || []).filter((c) => c.value).map((c) => ({
    label: c.system === "email" ? t("email") : t("phone"),
    href: c.system === "email" ? `mailto:${c.value}` : c.system === "phone" ? `tel:${c.value.replace(/[^0-9+]/g, "")}` : null,
    value: c.value,
  }));
}

/** The samenzorg availability extension (and PractitionerRole.availableTime) in words. */
export function availabilityInWords(resource) {
  const out = [];
  for (const ext of resource.extension || []) {
    if (ext.url !== "https://samenzorg.nl/fhir/StructureDefinition/availability") continue;
    const days = (ext.extension || []).filter((e) => e.url === "daysOfWeek").map((e) => t("days")[DAY_INDEX[e.valueCode]]);
    const start = (ext.extension || []).find((e) => e.url === "availableStartTime");
    const end = (ext.extension || []).find((e) => e.url === "availableEndTime");
    out.push(`${days.join(", ")}${start && end ? ` ${hhmm(start.valueTime)}–${hhmm(end.valueTime)}` : ""}`);
  }
  for (const a of resource.availableTime || []) {
    const days = (a.daysOfWeek || []).map((d) => t("days")[DAY_INDEX[d]]);
    out.push(`${days.join(", ")}${a.availableStartTime ? ` ${hhmm(a.availableStartTime)}–${hhmm(a.availableEndTime || "")}` : ""}`);
  }
  return out;
}
