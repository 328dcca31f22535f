// A small FHIR client: bearer token, FHIR JSON, errors as typed exceptions.
//
// 401 → one refresh with the refresh token, else SessionExpired; no answer at all → ServerDown;
// 403/404/412/4xx → FhirError carrying the OperationOutcome, so a page can say in words why.

import { loadSession } from "./session.js";
import { refresh } from "./smart.js";

export class ServerDown extends Error {}
export class SessionExpired extends Error {}
export class FhirError extends Error {
  constructor(status, outcome) {
    const issue = ((outcome && outcome.issue) || [])[0] || {};
    super(issue.diagnostics || `HTTP ${status}`);
    this.status = status;
    this.outcome = outcome;
  }
}

const FHIR_JSON = "application/fhir+json";

export class FhirClient {
  constructor(base = "/fhir") {
    this.base = base;
  }

  url(path) {
    return /^https?:/.test(path) ? path : `${this.base}/${path}`;
  }

  async request(method, path, { body, headers = {} } = {}, retried = false) {
    const session = loadSession();
    if (!session) throw new SessionExpired();
    const init = { method, headers: { Accept: FHIR_JSON, Authorization: `Bearer ${session.access_token}`, ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = FHIR_JSON;
    }
    let resp;
    try {
      resp = await fetch(this.url(path), init);
    } catch {
      throw new ServerDown();
    }
    if (resp.status === 401) {
      if (!retried && (await refresh(session))) return this.request(method, path, { body, headers }, true);
      throw new SessionExpired();
    }
    if (resp.status >= 502 && resp.status <= 504) throw new ServerDown();
    const text = await resp.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch { /* not JSON: a proxy's page */ }
    if (!resp.ok) throw new FhirError(resp.status, json);
    return { status: resp.status, etag: resp.headers.get("ETag"), body: json };
  }

  async read(path) {
    return (await this.request("GET", path)).body;
  }

  /** A searchset: { resources (matches), included (by "Type/id"), next (URL or null), total }. */
  async search(path) {
    const bundle = await this.read(path);
    const resources = [];
    const included = new Map();
    for (const entry of bundle.entry || []) {
      const r = entry.resource;
      if (!r) continue;
      if ((entry.search || {}).mode === "include") included.set(`${r.resourceType}/${r.id}`, r);
      else resources.push(r);
      // matches can be referenced too (a sender who is also a match)
      if (!included.has(`${r.resourceType}/${r.id}`)) included.set(`${r.resourceType}/${r.id}`, r);
    }
    const next = (bundle.link || []).find((l) => l.relation === "next");
    return { resources, included, next: next ? next.url : null, total: bundle.total };
  }

  async create(resource) {
    return this.request("POST", resource.resourceType, { body: resource, headers: { Prefer: "return=representation" } });
  }

  async update(resource, etag) {
    return this.request("PUT", `${resource.resourceType}/${resource.id}`, {
      body: resource, headers: { "If-Match": etag, Prefer: "return=representation" },
    });
  }

  async operation(path, parameters) {
    return (await this.request("POST", path, { body: { resourceType: "Parameters", parameter: parameters } })).body;
  }
}
