// The portal's shell: sign-in, who is signed in, the pages, and the three messages every page
// may need (signed out, session expired, server down).

import { FhirClient, FhirError, ServerDown, SessionExpired } from "./fhir.js";
import { language, setLanguage, t } from "./i18n.js";
import { clearSession, identity, loadSession } from "./session.js";
import { LoginError, beginLogin, completeLogin, signOut } from "./smart.js";
import { el, isRepresentative, nameOf } from "./words.js";
import { agreementsPage } from "./pages/agreements.js";
import { logbookPage } from "./pages/logbook.js";
import { networkPage } from "./pages/network.js";
import { sharingPage } from "./pages/sharing.js";

const PAGES = {
  "#/netwerk": { key: "network", title: "navNetwork", render: networkPage },
  "#/afspraken": { key: "agreements", title: "navAgreements", render: agreementsPage },
  "#/logboek": { key: "logbook", title: "navLogbook", render: logbookPage },
  "#/wie-ziet-wat": { key: "sharing", title: "navSharing", render: sharingPage },
};
const NOTICE = "samenzorg.notice"; // a message for the sign-in page (signed out, expired)

const main = () => document.getElementById("main");

export function announce(text) {
  const status = document.getElementById("status");
  status.textContent = "";
  setTimeout(() => { status.textContent = text; }, 50); // a change, so screen readers read it
}

function alertMessage(text) {
  document.getElementById("alert").textContent = text || "";
}

function translateShell() {
  document.title = t("title");
  const set = (id, key) => { document.getElementById(id).textContent = t(key); };
  set("skip-link", "skip");
  set("language-label", "language");
  set("sign-out", "signOut");
  set("nav-network", "navNetwork");
  set("nav-agreements", "navAgreements");
  set("nav-logbook", "navLogbook");
  set("nav-sharing", "navSharing");
  document.getElementById("nav").setAttribute("aria-label", t("menu"));
  document.getElementById("language").value = language();
}

/** Who is signed in and for whom: built once per page load from the token and the API. */
async function loadContext(session) {
  const me = identity(session);
  const fhir = new FhirClient("/fhir");
  const ctx = { fhir, me, patientId: me.patient, person: null, client: null, manages: false, checks: new Map() };
  if (me.fhirUser.startsWith("RelatedPerson/")) {
    ctx.person = await fhir.read(me.fhirUser); // one's own record is always visible
    ctx.patientId = ctx.patientId || ((ctx.person.patient || {}).reference || "").split("/")[1];
    ctx.manages = isRepresentative(ctx.person);
  } else if (me.fhirUser.startsWith("Patient/")) {
    ctx.manages = true;
  }
  ctx.may = may;
  // A carer with whom the client does not share their details is not sent to read them (the
  // refusal would be on the client's audit log at every page load): "the client" it is.
  if (await ctx.may("access", { resourceType: "Patient", id: ctx.patientId })) {
    try {
      ctx.client = await fhir.read(`Patient/${ctx.patientId}`);
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
    }
  }
  ctx.clientName = ctx.client ? nameOf(ctx.client) : t("theClient");
  ctx.myName = ctx.person ? nameOf(ctx.person) : ctx.client ? nameOf(ctx.client) : "";
  /** May I (a carer) do this? From the client's Consent via Consent/$evaluate about myself,
   *  asked before the page fetches or offers it. The client and a representative may. */
  async function may(action, resource) {
    if (!me.fhirUser.startsWith("RelatedPerson/") || ctx.manages) return true;
    const key = `${action}:${resource.resourceType}`;
    if (!ctx.checks.has(key)) {
      ctx.checks.set(key, fhir.operation("Consent/$evaluate", [
        { name: "actor", valueReference: { reference: me.fhirUser } },
        { name: "action", valueCode: action },
        { name: "resource", resource },
      ]).then((out) => (out.parameter || []).some((p) => p.name === "decision" && p.valueCode === "permit"))
        // A token whose scopes do not allow the question (no Consent read): not knowing, the page
        // tries; the server still filters every read and refuses a write in words.
        .catch((err) => { if (err instanceof FhirError) return true; throw err; }));
    }
    return ctx.checks.get(key);
  }
  return ctx;
}

let context = null;

async function route() {
  const session = loadSession();
  if (!session) return signInPage();
  const page = PAGES[location.hash] || PAGES["#/netwerk"];
  alertMessage("");
  try {
    if (!context) context = await loadContext(session);
    document.getElementById("nav").hidden = false;
    document.getElementById("sign-out").hidden = false;
    document.getElementById("nav-sharing-item").hidden = !context.manages;
    for (const a of document.querySelectorAll("#nav a")) {
      if (a.dataset.page === page.key) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    const root = main();
    delete root.dataset.page;
    root.replaceChildren(el("p", { text: t("loading") }));
    const content = await page.render(context);
    root.replaceChildren(
      el("p", { class: "meta" }, context.client ? `${t("forClient", { name: context.clientName })} · ` : "",
        t("youAre", { name: context.myName })),
      ...content,
    );
    root.dataset.page = page.key; // rendered (tests and tools wait for this)
    document.title = `${t(page.title)} · ${t("title")}`;
    announce(t("loaded", { page: t(page.title) }));
    const heading = root.querySelector("h1");
    if (heading && routeChangedByUser) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  } catch (err) {
    handle(err);
  }
}

let routeChangedByUser = false;

/** The one place failures become messages. */
export function handle(err) {
  if (err instanceof SessionExpired) {
    clearSession();
    context = null;
    sessionStorage.setItem(NOTICE, "expired");
    return signInPage();
  }
  if (err instanceof ServerDown || (err instanceof LoginError && err.message === "server-down")) {
    alertMessage(t("serverDown"));
    main().replaceChildren(el("h1", { text: t("title") }), el("p", {}, el("button", {
      type: "button", id: "retry", text: t("retry"), onclick: () => { context = null; route(); },
    })));
    main().dataset.page = "server-down";
    return undefined;
  }
  console.error(err);
  alertMessage(t("unexpected", { message: err && err.message ? err.message : String(err) }));
  return undefined;
}

function signInPage() {
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.title = `${t("signInTitle")} · ${t("title")}`;
  const notice = sessionStorage.getItem(NOTICE);
  const children = [el("h1", { text: t("signInTitle") })];
  if (notice === "expired") children.push(el("p", { class: "notice", role: "status", id: "notice", text: t("expired") }));
  if (notice === "signed-out") children.push(el("p", { class: "ok", role: "status", id: "notice", text: t("signedOut") }));
  children.push(el("p", { text: t("signInIntro") }));
  children.push(el("p", {}, el("button", { type: "button", id: "sign-in", text: t("signInButton"), onclick: startLogin })));
  main().replaceChildren(...children);
  main().dataset.page = "sign-in";
}

async function startLogin() {
  sessionStorage.removeItem(NOTICE);
  alertMessage("");
  try {
    await beginLogin();
  } catch (err) {
    if (err instanceof LoginError && err.message === "no-login") alertMessage(t("loginUnavailable"));
    else if (err instanceof LoginError) alertMessage(t("loginFailed", { reason: err.message }));
    else handle(new ServerDown());
  }
}

async function boot() {
  setLanguage(language());
  translateShell();
  document.getElementById("language").addEventListener("change", (e) => {
    setLanguage(e.target.value);
    translateShell();
    if (context) context.clientName = context.client ? nameOf(context.client) : t("theClient");
    route();
  });
  document.getElementById("sign-out").addEventListener("click", async () => {
    await signOut();
    context = null;
    sessionStorage.setItem(NOTICE, "signed-out");
    location.hash = "";
    signInPage();
    document.getElementById("sign-in").focus();
  });
  window.addEventListener("hashchange", () => { routeChangedByUser = true; route(); });
  try {
    if (await completeLogin()) sessionStorage.removeItem(NOTICE);
  } catch (err) {
    if (err instanceof LoginError && err.message !== "server-down") alertMessage(t("loginFailed", { reason: err.message }));
    else return handle(err);
  }
  return route();
}

boot();
