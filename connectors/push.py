"""Pushing one outbound item to its source, one function per kind: `PUSH[kind](session, source, item)`.

Every push is idempotent upstream, so the outbox may repeat it after a lost answer or a worker
that died mid-delivery without writing twice:

- `fhir`: the resource carries an identifier Samenzorg assigns (`WRITEBACK_SYSTEM|resource_key`);
  a first version is a conditional create (`If-None-Exist` on that identifier), a later one a
  conditional update, a delete a conditional delete — each matches what an earlier attempt wrote.
- `network-json` over HTTP: POST of a write-back envelope (below) to `options.push_path`
  (default `/writeback`) with an `Idempotency-Key` header; the receiver keeps one per key.
- `csv` over HTTP: the same, with the CSV row file (`text/csv`) as the body.
- a folder source (`network-json` or `csv`): the envelope (`<key>.json`) or CSV row file
  (`<key>.csv`) written atomically into `options.outgoing` (default `<folder>/outgoing`); the
  file's name is the idempotency key, so writing it again replaces it with the same bytes.

The functions raise `PushRefused` when the source refuses the item for good (a 4xx other than
408/409/425/429) and `PushFailed` when a later attempt may succeed; retrying is the outbox's job.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import quote

import orjson
import requests

from .base import Delivered, OutboundItem, PushFailed, PushRefused
from .config import Source

WRITEBACK_SYSTEM = "urn:samenzorg:writeback"
RETRYABLE = frozenset({408, 409, 425, 429})
CSV_COLUMNS = ("idempotency_key", "action", "kind", "client", "time", "author", "topic", "text", "status",
               "resource_key")
_LITERAL = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what may name a file in the outgoing folder


# -- fhir ------------------------------------------------------------------------------------
def push_fhir(session: requests.Session, source: Source, item: OutboundItem) -> Delivered:
    res_type = item.res_type
    key = item.resource_key or item.idempotency_key
    condition = f"identifier={quote(WRITEBACK_SYSTEM, safe=':')}|{quote(key)}"
    url = f"{source.base_url}/{res_type}"
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
               "Prefer": "return=minimal"}
    try:
        if item.action == "delete":
            resp = session.delete(f"{url}?{condition}", headers=headers, allow_redirects=False)
            if resp.status_code == 404:  # never arrived, or deleted by an earlier attempt: gone either way
                return Delivered(None)
        else:
            body = orjson.dumps(upstream_resource(item, key))
            if item.action == "create":
                resp = session.post(url, data=body, headers={**headers, "If-None-Exist": condition},
                                    allow_redirects=False)
            else:
                resp = session.put(f"{url}?{condition}", data=body, headers=headers, allow_redirects=False)
    except requests.RequestException as exc:
        raise PushFailed(_describe(exc)) from None
    _check(resp)
    return Delivered(_location(resp, source.base_url))


def upstream_resource(item: OutboundItem, key: str) -> dict:
    """The resource as the source should hold it: no local id or server meta, the identifier
    Samenzorg assigns it, and references to local resources named by their identifier (the source
    knows its clients and carers by identifier, never by Samenzorg's ids)."""
    resource = {k: v for k, v in item.resource.items() if k not in ("id", "meta", "text")}
    identifiers = [i for i in resource.get("identifier") or [] if i.get("system") != WRITEBACK_SYSTEM]
    resource["identifier"] = [*identifiers, {"system": WRITEBACK_SYSTEM, "value": key}]
    return _translate(resource, item.related)


def _translate(node, related: Mapping):
    if isinstance(node, list):
        return [_translate(v, related) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _translate(v, related) for k, v in node.items()}
    ref = node.get("reference")
    m = _LITERAL.match(ref) if isinstance(ref, str) else None
    if m:
        ident = _best_identifier(related.get(ref))
        if ident is not None:
            out.pop("reference")
            out["type"] = m.group(1)
            out["identifier"] = ident
    return out


def _best_identifier(resource: Mapping | None) -> dict | None:
    """The identifier a source most likely knows: one of its own systems before a national one."""
    identifiers = [i for i in (resource or {}).get("identifier") or [] if i.get("system") and i.get("value")]
    if not identifiers:
        return None
    return {k: identifiers[0][k] for k in ("system", "value")}


# -- network-json and csv -----------------------------------------------------------------------
def envelope(item: OutboundItem) -> dict:
    """The write-back document for network-json sources (README: "Write-back envelope").

    `entry` is the logbook entry in the network document's own terms where the ECD's ids are known
    (client, author); `resource` is the FHIR resource as stored, for what the terms do not carry.
    """
    resource = dict(item.resource)
    kind = "logbook" if item.res_type == "Communication" else "sharing"
    out = {"idempotencyKey": item.idempotency_key, "resourceKey": item.resource_key or item.idempotency_key,
           "action": item.action, "kind": kind,
           "client": {"id": _ecd_id(item.patient, "client"), "reference": f"Patient/{item.patient.get('id')}"}}
    if kind == "logbook":
        entry = {"id": out["resourceKey"], "time": resource.get("sent"),
                 "author": _author(item), "text": ((resource.get("payload") or [{}])[0]).get("contentString")}
        topic = _code(resource.get("category") or [])
        if topic:
            entry["topic"] = topic
        out["entry"] = entry
    else:
        out["status"] = resource.get("status")
    out["resource"] = resource
    return out


def _ecd_id(resource: Mapping | None, kind: str) -> str | None:
    for ident in (resource or {}).get("identifier") or []:
        if isinstance(ident.get("system"), str) and ident["system"].endswith(f"/{kind}") and ident.get("value"):
            return ident["value"]
    return None


def _author(item: OutboundItem) -> str | None:
    sender = (item.resource.get("sender") or {}).get("reference")
    if sender and sender == f"Patient/{item.patient.get('id')}":
        return "client"  # the network document's name for the client as author
    return _ecd_id(item.related.get(sender), "member") or sender


def _code(concepts: list) -> str | None:
    for concept in concepts:
        for coding in concept.get("coding") or []:
            if coding.get("code"):
                return coding["code"]
    return None


def csv_row(item: OutboundItem) -> bytes:
    """A CSV file of a header and one row (columns CSV_COLUMNS), UTF-8."""
    doc = envelope(item)
    entry = doc.get("entry", {})
    row = {"idempotency_key": item.idempotency_key, "action": item.action, "kind": doc["kind"],
           "client": doc["client"]["id"] or doc["client"]["reference"], "time": entry.get("time") or "",
           "author": entry.get("author") or "", "topic": entry.get("topic") or "", "text": entry.get("text") or "",
           "status": doc.get("status") or "", "resource_key": doc["resourceKey"]}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue().encode("utf-8")


def push_network_json(session: requests.Session, source: Source, item: OutboundItem) -> Delivered:
    body = orjson.dumps(envelope(item))
    if source.folder:
        return _drop_file(source, item, ".json", body)
    return _post(session, source, item, body, "application/json")


def push_csv(session: requests.Session, source: Source, item: OutboundItem) -> Delivered:
    body = csv_row(item)
    if source.folder:
        return _drop_file(source, item, ".csv", body)
    return _post(session, source, item, body, "text/csv; charset=utf-8")


def _post(session, source: Source, item: OutboundItem, body: bytes, content_type: str) -> Delivered:
    path = str(source.options.get("push_path", "/writeback"))
    url = source.base_url + (path if path.startswith("/") else "/" + path)
    try:
        resp = session.post(url, data=body, headers={"Content-Type": content_type,
                                                     "Idempotency-Key": item.idempotency_key},
                            allow_redirects=False)
    except requests.RequestException as exc:
        raise PushFailed(_describe(exc)) from None
    _check(resp)
    return Delivered(_location(resp, source.base_url))


def _drop_file(source: Source, item: OutboundItem, suffix: str, body: bytes) -> Delivered:
    if not _KEY.match(item.idempotency_key):
        raise PushRefused("the idempotency key cannot name a file")
    outgoing = Path(str(source.options.get("outgoing", "outgoing")))
    if not outgoing.is_absolute():
        outgoing = Path(source.folder) / outgoing
    target = outgoing / f"{item.idempotency_key}{suffix}"
    try:
        outgoing.mkdir(parents=True, exist_ok=True)
        # Written beside the target and renamed: a reader never sees half a file, and a dot-name
        # is not picked up as an item before the rename.
        fd, tmp = tempfile.mkstemp(prefix=f".{item.idempotency_key}.", suffix=".tmp", dir=outgoing)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PushFailed(f"cannot write to the outgoing folder: {exc.strerror or exc}") from None
    return Delivered(target.name)


# -- answers -----------------------------------------------------------------------------------
def _check(resp: requests.Response) -> None:
    status = resp.status_code
    if 200 <= status < 300:
        return
    reason = f"HTTP {status}{_diagnostics(resp)}"
    if status in RETRYABLE or status >= 500:
        raise PushFailed(reason, retry_after(resp.headers.get("Retry-After")))
    raise PushRefused(reason)


def _diagnostics(resp: requests.Response) -> str:
    """The upstream's own explanation (an OperationOutcome's diagnostics), short; never our body."""
    try:
        data = resp.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        for issue in data.get("issue") or []:
            if isinstance(issue, dict) and isinstance(issue.get("diagnostics"), str):
                return f": {issue['diagnostics'][:300]}"
        if isinstance(data.get("error"), str):
            return f": {data['error'][:300]}"
    return ""


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _location(resp: requests.Response, base_url: str | None) -> str | None:
    where = resp.headers.get("Location") or resp.headers.get("Content-Location")
    if where and base_url and where.startswith(base_url + "/"):
        where = where[len(base_url) + 1:]
    return where[:1000] if where else None


def _describe(exc: requests.RequestException) -> str:
    """What went wrong, without the URL's query or any header (a token never reaches a log)."""
    if isinstance(exc, requests.Timeout):
        return "timed out waiting for the source"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect to the source"
    return f"request failed: {type(exc).__name__}"


PUSH: dict[str, Callable[[requests.Session, Source, OutboundItem], Delivered]] = {
    "fhir": push_fhir,
    "network-json": push_network_json,
    "csv": push_csv,
}
