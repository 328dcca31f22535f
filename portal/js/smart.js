// SMART App Launch 2.0, standalone launch, as a public client: authorization code + PKCE (S256).
//
// Everything comes from discovery (`{fhirBase}/.well-known/smart-configuration`) and the
// portal's client id from /portal/config.json; the redirect URI is this page exactly.

import { clearSession, loadSession, saveSession } from "./session.js";

const LOGIN = "samenzorg.login"; // state and code_verifier of a sign-in under way
export const SCOPES = "openid fhirUser launch/patient offline_access patient/*.rs patient/Communication.c patient/Consent.cru";

export class LoginError extends Error {}

export function redirectUri() {
  return location.origin + "/portal/";
}

export async function portalConfig() {
  const resp = await fetch("/portal/config.json", { cache: "no-store" });
  if (!resp.ok) throw new LoginError("config");
  return resp.json();
}

export async function discover(fhirBase) {
  const resp = await fetch(`${fhirBase}/.well-known/smart-configuration`, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new LoginError("discovery");
  return resp.json();
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function randomString(bytes = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export async function codeChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The authorization URL to send the browser to; remembers state and verifier for the way back. */
export async function authorizeUrl(config, smart) {
  if (!smart.authorization_endpoint || !smart.token_endpoint) throw new LoginError("no-login");
  if (!(smart.code_challenge_methods_supported || []).includes("S256")) throw new LoginError("no-pkce");
  const state = randomString(16);
  const verifier = randomString(48);
  sessionStorage.setItem(LOGIN, JSON.stringify({
    state, verifier, token_endpoint: smart.token_endpoint,
    revocation_endpoint: smart.revocation_endpoint || "", client_id: config.clientId,
  }));
  const url = new URL(smart.authorization_endpoint, location.href);
  url.search = new URLSearchParams({
    response_type: "code", client_id: config.clientId, redirect_uri: redirectUri(), scope: SCOPES,
    state, aud: new URL(config.fhirBase, location.href).href, code_challenge: await codeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  return url.href;
}

export async function beginLogin() {
  const config = await portalConfig();
  const smart = await discover(config.fhirBase);
  location.assign(await authorizeUrl(config, smart));
}

async function tokenRequest(endpoint, form) {
  let resp;
  try {
    resp = await fetch(endpoint, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(form).toString(),
    });
  } catch {
    throw new LoginError("server-down");
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok || typeof body.access_token !== "string") throw new LoginError(body.error || "token");
  return body;
}

/** On the way back from the authorization server: check state, exchange the code. Returns the
 *  session, or null when this page load is not a sign-in's return. */
export async function completeLogin(params = new URLSearchParams(location.search)) {
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(LOGIN) || "null");
  sessionStorage.removeItem(LOGIN);
  history.replaceState(null, "", redirectUri() + location.hash); // the code must not stay in the URL
  if (!pending || params.get("state") !== pending.state) throw new LoginError("state");
  if (params.has("error")) throw new LoginError(params.get("error"));
  const body = await tokenRequest(pending.token_endpoint, {
    grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
    client_id: pending.client_id, code_verifier: pending.verifier,
  });
  return saveSession(body, {
    token_endpoint: pending.token_endpoint, revocation_endpoint: pending.revocation_endpoint,
    client_id: pending.client_id,
  });
}

/** A new access token from the refresh token; null when there is none or it is refused. */
export async function refresh(session) {
  if (!session || !session.refresh_token || !session.token_endpoint) return null;
  try {
    const body = await tokenRequest(session.token_endpoint, {
      grant_type: "refresh_token", refresh_token: session.refresh_token, client_id: session.client_id || "",
    });
    return saveSession({ ...session, ...body }, {});
  } catch (err) {
    if (err instanceof LoginError && err.message === "server-down") throw err;
    return null;
  }
}

/** Sign out: revoke the refresh token (RFC 7009) when the server offers revocation, then forget. */
export async function signOut() {
  const session = loadSession();
  clearSession();
  if (!session || !session.revocation_endpoint) return;
  const tokens = [session.refresh_token, session.access_token].filter(Boolean);
  await Promise.all(tokens.map((token) => fetch(session.revocation_endpoint, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: session.client_id || "" }).toString(),
  }).catch(() => null)));
}
