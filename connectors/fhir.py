"""`fhir`: an upstream FHIR R4 server.

Incremental by `[type]/_history?_since=` where the upstream's CapabilityStatement offers
history-type (so deletions arrive), else by `[type]?_lastUpdated=ge…&_sort=_lastUpdated` (no
deletions: say so in the config's expectations). Pages follow `next` links, absolute or relative,
on the source's own host only. Referenced Patient/RelatedPerson/Practitioner/PractitionerRole/
Organization that are neither in the page nor stored already are fetched by id.

The cursor is JSON: between runs `{"since": instant}`; during a run also the types still to do
and the `next` link of the type under way, so a stopped run resumes at the page after the last
stored one.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Iterator
from urllib.parse import urlencode

import orjson

from .base import Change, Connector, Page, UpstreamId, kind
from .pulling import UpstreamError, get, get_json, parse_json, resolve

# Synced in this order, so what others point at is usually stored before them.
NETWORK_TYPES = ("Organization", "Practitioner", "PractitionerRole", "Patient", "RelatedPerson", "CareTeam",
                 "Goal", "CarePlan", "Consent", "Communication")
NEEDED = frozenset({"Patient", "RelatedPerson", "Practitioner", "PractitionerRole", "Organization"})
_LOCAL_REF = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
_VERSION = re.compile(r'^(?:W/)?"?([^"]+)"?$')


@kind
class FhirConnector(Connector):
    kind = "fhir"

    def __init__(self, source, session):
        super().__init__(source, session)
        opts = source.options
        self.types = tuple(opts.get("types") or NETWORK_TYPES)
        self.page_size = int(opts.get("page_size", 100))
        self.history = opts.get("history", "auto")  # auto: when the upstream offers it; never
        self.overlap = int(opts.get("overlap_seconds", 5))
        # Set by the sync: whether a (type, upstream id) is stored already, so it is not fetched again.
        self.known: Callable[[str, str], bool] = lambda res_type, upstream_id: False
        self._fetched: set[tuple[str, str]] = set()

    # -- pulling ---------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        state = _load(cursor)
        if full or not state.get("pending"):
            state = self._new_run(None if full else state.get("since"))
        while state.get("pending"):
            res_type = state["pending"][0]
            url = state.get("next") or self._first_url(res_type, state)
            bundle = get_json(self.session, url, headers={"Accept": "application/fhir+json"})
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                raise UpstreamError(f"{res_type}: the upstream answered something other than a Bundle")
            history = state["modes"][res_type] == "history"
            changes = self._changes(bundle, res_type, history)
            # Seen in this run (stored or quarantined): never fetched again by reference.
            self._fetched |= {(c.identity.res_type, c.identity.upstream_id) for c in changes}
            found, rounds = self._referenced(changes), 1
            while found and rounds < 3:  # a PractitionerRole fetched for a CareTeam names its Practitioner
                changes += found
                found, rounds = self._referenced(found), rounds + 1
            changes += found
            fetched = len(changes)  # what was fetched by reference counts as read too
            link = next((l.get("url") for l in bundle.get("link") or [] if l.get("relation") == "next"), None)
            if link:
                state["next"] = resolve(self.source.base_url, link)
                if state["next"] == url:
                    raise UpstreamError(f"{res_type}: the upstream's next link points at the same page")
            else:
                state["pending"].pop(0)
                state["next"] = None
            if not state["pending"]:
                state = {"since": state["next_since"]}
            yield Page(changes, json.dumps(state), fetched)

    def _new_run(self, since: str | None) -> dict:
        """A run from `since` (None: everything). Its own `since` for the next run is the upstream's
        clock at the start, less an overlap: a version seen twice is 'unchanged', one missed is lost."""
        cap, started = self._capabilities()
        offered = {r.get("type"): {i.get("code") for i in r.get("interaction") or []}
                   for rest in cap.get("rest") or [] for r in rest.get("resource") or []}
        modes = {t: "history" if self.history != "never" and "history-type" in offered.get(t, set()) else "search"
                 for t in self.types}
        return {"since": since, "next_since": _instant(started - timedelta(seconds=self.overlap)),
                "modes": modes, "pending": list(self.types), "next": None}

    def _capabilities(self) -> tuple[dict, datetime]:
        url = f"{self.source.base_url}/metadata"
        resp = get(self.session, url, headers={"Accept": "application/fhir+json"})
        cap = parse_json(resp.content, url)
        try:
            started = parsedate_to_datetime(resp.headers["Date"]).astimezone(timezone.utc)
        except (KeyError, TypeError, ValueError):
            started = datetime.now(timezone.utc) - timedelta(minutes=1)  # no upstream clock: be generous
        return (cap if isinstance(cap, dict) else {}), started

    def _first_url(self, res_type: str, state: dict) -> str:
        base, since = self.source.base_url, state.get("since")
        if state["modes"][res_type] == "history":
            query = [("_count", self.page_size)] + ([("_since", since)] if since else [])
            return f"{base}/{res_type}/_history?{urlencode(query)}"
        query = [("_count", self.page_size), ("_sort", "_lastUpdated")]
        query += [("_lastUpdated", f"ge{since}")] if since else []
        return f"{base}/{res_type}?{urlencode(query)}"

    def _changes(self, bundle: dict, res_type: str, history: bool) -> list[Change]:
        changes: list[Change] = []
        seen: set[str] = set()
        entries = bundle.get("entry") or []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            if history and (entry.get("request") or {}).get("method") == "DELETE":
                upstream_id = _id_from_url((entry.get("request") or {}).get("url") or entry.get("fullUrl") or "")
                if upstream_id is None or upstream_id in seen:
                    continue
                seen.add(upstream_id)
                changes.append(Change(UpstreamId(self.source.name, res_type, upstream_id), deleted=True,
                                      raw=orjson.dumps(entry).decode(),
                                      updated=(entry.get("response") or {}).get("lastModified")))
                continue
            if (entry.get("search") or {}).get("mode") == "outcome":
                continue
            resource = entry.get("resource")
            if not isinstance(resource, dict) or resource.get("resourceType") != res_type:
                upstream_id = _id_from_url(entry.get("fullUrl") or "") or f"entry-{len(changes)}"
                changes.append(Change(UpstreamId(self.source.name, res_type, upstream_id),
                                      raw=orjson.dumps(entry).decode(),
                                      error=f"the entry holds no {res_type} resource"))
                continue
            change = self.change_for(resource)
            if change.identity.upstream_id in seen:
                continue  # history: an older version of one already in this page
            seen.add(change.identity.upstream_id)
            changes.append(change)
        return changes

    def change_for(self, resource: dict) -> Change:
        """One upstream resource as a Change: references to the source made relative, so the sync
        can map them to local ids."""
        res_type = resource.get("resourceType") or "?"
        upstream_id = resource.get("id")
        raw = orjson.dumps(resource).decode()
        if not isinstance(upstream_id, str) or not _LOCAL_REF.match(f"{res_type}/{upstream_id}"):
            return Change(UpstreamId(self.source.name, res_type, str(upstream_id)), raw=raw,
                          error="the upstream resource has no valid id")
        return Change(UpstreamId(self.source.name, res_type, upstream_id),
                      resources=[_relative(resource, self.source.base_url + "/")], raw=raw)

    def changes_from_raw(self, raw: str) -> list[Change]:
        """A quarantined record, mapped again (`samenzorg quarantine retry`)."""
        data = orjson.loads(raw)
        if isinstance(data, dict) and "resourceType" not in data and "resource" in data:
            data = data["resource"]
        if not isinstance(data, dict):
            raise ValueError("the quarantined record is not a resource")
        return [self.change_for(data)]

    def _referenced(self, changes: list[Change]) -> list[Change]:
        in_page = {(c.identity.res_type, c.identity.upstream_id) for c in changes}
        wanted: list[tuple[str, str]] = []
        for change in changes:
            for resource in change.resources:
                for ref in _references(resource):
                    m = _LOCAL_REF.match(ref)
                    if not m or m.group(1) not in NEEDED:
                        continue
                    key = (m.group(1), m.group(2))
                    if key in in_page or key in self._fetched or key in wanted or self.known(*key):
                        continue
                    wanted.append(key)
        out = []
        for res_type, upstream_id in wanted:
            self._fetched.add((res_type, upstream_id))
            url = f"{self.source.base_url}/{res_type}/{upstream_id}"
            # 404/410: gone or never there upstream; the reference dangles, as it does there.
            resp = get(self.session, url, absent=(404, 410), headers={"Accept": "application/fhir+json"})
            if resp is None:
                continue
            resource = parse_json(resp.content, url)
            if isinstance(resource, dict) and resource.get("resourceType") == res_type:
                out.append(self.change_for(resource))
        return out


def _load(cursor: str | None) -> dict:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _instant(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id_from_url(url: str) -> str | None:
    parts = url.split("/_history")[0].rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-1] else None


def _relative(value, base: str):
    """References on the source's base made relative (`Patient/5`); others left as they are."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str) and v.startswith(base):
                v = v[len(base):].split("/_history")[0]
            out[k] = _relative(v, base)
        return out
    if isinstance(value, list):
        return [_relative(v, base) for v in value]
    return value


def _references(value) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)
