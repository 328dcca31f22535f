// The signed-in session, kept in sessionStorage (this tab only, gone when it closes).
//
// Its shape is the SMART token response as the token endpoint sent it, plus `received_at`
// (seconds) and the endpoints learnt from discovery, so a refresh and a sign-out need no
// second discovery: { access_token, token_type, expires_in, scope, patient, id_token,
// refresh_token, received_at, token_endpoint, revocation_endpoint }.

const KEY = "samenzorg.session";
const DRAFTS = "samenzorg.drafts";

export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || "null");
    return s && typeof s.access_token === "string" ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(tokenResponse, endpoints = {}) {
  const s = { ...tokenResponse, received_at: Math.floor(Date.now() / 1000), ...endpoints };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

/** The claims of a JWT, unverified: the server verifies every token; the portal only reads
 *  who it acts for (fhirUser) to show the right pages. */
export function jwtClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

/** Who the session acts for: { fhirUser: "RelatedPerson/12", patient: "5", scopes: Set }. */
export function identity(session) {
  const fromId = session.id_token ? jwtClaims(session.id_token) : {};
  const fromAccess = jwtClaims(session.access_token);
  let fhirUser = fromId.fhirUser || fromAccess.fhirUser || "";
  fhirUser = fhirUser.replace(/^.*\/((Patient|RelatedPerson|Practitioner)\/[^/]+)$/, "$1");
  const patient = session.patient || fromAccess.patient || (fhirUser.startsWith("Patient/") ? fhirUser.slice(8) : "");
  const scopes = new Set(String(session.scope || fromAccess.scope || "").split(/\s+/).filter(Boolean));
  return { fhirUser, patient, scopes, expiresAt: (session.received_at || 0) + (Number(session.expires_in) || 0) };
}

// Drafts: what a person typed survives an expired session or a reload (this tab only).
export function loadDraft(name) {
  try {
    return (JSON.parse(sessionStorage.getItem(DRAFTS) || "{}") || {})[name] || "";
  } catch {
    return "";
  }
}

export function saveDraft(name, text) {
  let all = {};
  try {
    all = JSON.parse(sessionStorage.getItem(DRAFTS) || "{}") || {};
  } catch { /* a damaged store starts again */ }
  if (text) all[name] = text; else delete all[name];
  sessionStorage.setItem(DRAFTS, JSON.stringify(all));
}
