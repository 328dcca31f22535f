"""`network-json`: an ECD that exports care-network documents (the format `mappings/` defines).

Over HTTP, a list endpoint with a change cursor (`options.list_path`, default `/networks`):

    GET <base_url>/networks?limit=100[&cursor=<cursor>]
    {"items": [{"id": "NW-1", "network": {…document…}}, {"id": "NW-2", "deleted": true}],
     "cursor": "<opaque, to resume after these items>", "more": true}

Or as files dropped in a folder: each `*.json` file holds one item as above, or a bare network
document; files are taken in the order they were written (mtime, then name), and the cursor is the
last file taken. Each document maps, by the pure `mappings` package, to a CareTeam with its Patient,
RelatedPersons, Practitioners, CarePlans, Goals, Communications and Consents: one upstream record.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

import orjson

from .base import Change, Connector, Page, UpstreamId, kind
from .pulling import UpstreamError, get_json

RECORD_TYPE = "CareTeam"  # a network document is a CareTeam and what hangs off it


def network_change(source_name: str, item: object, fallback_id: str | None = None) -> Change:
    """One list item (or bare document) as a Change; a document the mapping refuses carries the reason."""
    from mappings import NetworkInvalid, network_to_fhir

    raw = orjson.dumps(item).decode() if not isinstance(item, str) else item
    doc = item
    if isinstance(item, dict) and "client" not in item:
        if item.get("deleted") is True and isinstance(item.get("id"), str):
            return Change(UpstreamId(source_name, RECORD_TYPE, item["id"]), deleted=True, raw=raw)
        doc = item.get("network")
    record_id = (doc.get("id") if isinstance(doc, dict) else None) or (
        item.get("id") if isinstance(item, dict) else None) or fallback_id or "unknown"
    identity = UpstreamId(source_name, RECORD_TYPE, str(record_id))
    if not isinstance(doc, dict):
        return Change(identity, raw=raw, error="the item holds neither a network document nor a deletion")
    try:
        bundle = network_to_fhir(doc)
    except NetworkInvalid as exc:
        return Change(identity, raw=raw, error=str(exc))
    return Change(identity, resources=bundle_resources(bundle), raw=raw)


def bundle_resources(bundle: dict) -> list[dict]:
    """The mapped transaction's resources with ids of their own (the uuid of each fullUrl, itself derived
    from the ECD's identifier) and references between them as `Type/id`."""
    names = {}
    for entry in bundle.get("entry", []):
        names[entry["fullUrl"]] = f"{entry['resource']['resourceType']}/{entry['fullUrl'].removeprefix('urn:uuid:')}"
    out = []
    for entry in bundle.get("entry", []):
        resource = _rewrite(entry["resource"], names)
        resource["id"] = entry["fullUrl"].removeprefix("urn:uuid:")
        out.append(resource)
    return out


def _rewrite(value, names: dict):
    if isinstance(value, dict):
        return {k: names.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, names)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, names) for v in value]
    return value


@kind
class NetworkJsonConnector(Connector):
    kind = "network-json"

    def __init__(self, source, session):
        super().__init__(source, session)
        self.page_size = int(source.options.get("page_size", 50))
        self.list_path = str(source.options.get("list_path", "/networks"))

    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        if full:
            cursor = None
        if self.source.folder:
            yield from self._pull_folder(cursor)
        else:
            yield from self._pull_http(cursor)

    def _pull_http(self, cursor: str | None) -> Iterator[Page]:
        while True:
            query = [("limit", self.page_size)] + ([("cursor", cursor)] if cursor else [])
            url = f"{self.source.base_url}{self.list_path}?{urlencode(query)}"
            body = get_json(self.session, url, headers={"Accept": "application/json"})
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise UpstreamError(f"{self.source.base_url}{self.list_path}: the answer has no list of items")
            changes = [network_change(self.source.name, item) for item in body["items"]]
            next_cursor = body.get("cursor")
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise UpstreamError(f"{self.source.base_url}{self.list_path}: the cursor is not a string")
            more = bool(body.get("more")) and bool(body["items"])
            if more and next_cursor in (None, cursor):
                raise UpstreamError(f"{self.source.base_url}{self.list_path}: more items, but the cursor did not move")
            cursor = next_cursor or cursor
            yield Page(changes, cursor, len(changes))
            if not more:
                return

    def _pull_folder(self, cursor: str | None) -> Iterator[Page]:
        after = tuple(json.loads(cursor)["after"]) if cursor else None
        folder = Path(self.source.folder)
        if not folder.is_dir():
            raise UpstreamError(f"the folder {folder} does not exist")
        files = sorted(((p.stat().st_mtime_ns, p.name) for p in folder.glob("*.json")))
        files = [f for f in files if after is None or f > after]
        for start in range(0, len(files), self.page_size):
            batch = files[start:start + self.page_size]
            changes = [self._file_change(folder / name) for _, name in batch]
            yield Page(changes, json.dumps({"after": list(batch[-1])}), len(changes))

    def _file_change(self, path: Path) -> Change:
        raw = path.read_bytes()
        try:
            item = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return Change(UpstreamId(self.source.name, RECORD_TYPE, path.stem), raw=raw.decode(errors="replace"),
                          error=f"{path.name} is not valid JSON")
        return network_change(self.source.name, item, fallback_id=path.stem)

    def changes_from_raw(self, raw: str) -> list[Change]:
        return [network_change(self.source.name, orjson.loads(raw))]


