"""The one small interface every source kind implements: pull changes since a cursor; push one item.

A sync asks `pull(cursor)` for pages; the gateway stores each page in its own
transaction together with the cursor after it, so a crash resumes from the
last stored page. The outbox worker hands `push(item)` one outbound item at a
time; the item's idempotency key makes a repeated push harmless upstream.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Mapping

import requests

from .config import Source


@dataclass(frozen=True)
class UpstreamId:
    """Who a record is upstream: the source, the FHIR type it maps to and the source's own id."""
    source: str
    res_type: str
    upstream_id: str


@dataclass
class Change:
    """One upstream record: mapped resources to store, a deletion, or a record that failed mapping.

    `resources` are FHIR resources (dicts) ready for validation; a network-json or csv record maps to
    several. `deleted` names the upstream record that is gone. `raw` is the record as the source sent
    it (kept in quarantine when the record cannot be stored), `error` why it cannot.
    """
    identity: UpstreamId
    resources: list[dict] = field(default_factory=list)
    deleted: bool = False
    raw: str = ""
    error: str | None = None
    updated: str | None = None  # a deletion's upstream time, so an older version seen later cannot revive it


@dataclass
class Page:
    changes: list[Change]
    cursor: str | None  # the cursor to resume from once this page is stored
    fetched: int = 0    # upstream records read for this page (for the summary)


@dataclass(frozen=True)
class OutboundItem:
    """What the outbox hands a connector: one resource a family or client wrote, to deliver once."""
    item_id: int
    idempotency_key: str   # stable across retries; also the identifier Samenzorg assigns upstream
    res_type: str
    res_id: str
    resource: Mapping      # the stored FHIR JSON of the version to deliver (a delete: the version it deleted)
    patient: Mapping       # the local Patient the item is about (its meta.source/identifiers)
    action: str = "create"  # create | update | delete
    resource_key: str = ""  # stable across the resource's versions: the identifier it gets upstream
    # The local resources the item's references point at ("Type/id" -> resource), so a push can name
    # them the way the source knows them (by identifier) instead of by local ids it has never seen.
    related: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Delivered:
    upstream_ref: str | None = None  # where the source keeps it, when it says


class PushRefused(Exception):
    """The source refused the item for good (a 4xx other than 408/409/429): retrying cannot help."""


class PushFailed(Exception):
    """This attempt failed but a later one may succeed (unreachable, timeout, 408/409/429/5xx).

    `retry_after` is the source's Retry-After in seconds, when it gave one: the outbox schedules the
    next attempt no earlier, rather than a worker sleeping on it.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Connector:
    """Base of the source kinds; `kind` names the config's `kind`."""
    kind: str = ""

    def __init__(self, source: Source, session: requests.Session):
        self.source = source
        self.session = session

    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        raise NotImplementedError

    def push(self, item: OutboundItem) -> Delivered:
        from .push import PUSH  # one function per kind, beside the outbox that calls it

        return PUSH[self.kind](self.session, self.source, item)


KINDS: dict[str, type[Connector]] = {}


def kind(cls: type[Connector]) -> type[Connector]:
    """Class decorator: register a source kind."""
    KINDS[cls.kind] = cls
    return cls


def connector_for(source: Source, session: requests.Session | None = None) -> Connector:
    from . import kinds  # noqa: F401 - registers the kinds
    from .upstream import session_for

    return KINDS[source.kind](source, session or session_for(source))
