"""FHIR interaction handlers: functions of (Context, FhirRequest) -> FhirResponse."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import orjson

from .. import fhirtime
from ..config import Settings
from ..errors import information
from ..fhirhttp import FhirRequest, FhirResponse, etag
from ..repository import Repository, Stored


@dataclass
class Context:
    repo: Repository
    settings: Settings
    base_url: str
    # The router (routes.dispatch): bundles send their entries through it, as HTTP requests go.
    dispatch: Callable[["Context", FhirRequest], FhirResponse] | None = None

    @property
    def page_key(self) -> bytes:
        return self.settings.derived_key("paging")


def resource_headers(stored: Stored, base_url: str, *, location: bool = False) -> dict[str, str]:
    headers = {"ETag": etag(stored.version), "Last-Modified": fhirtime.http_date(stored.last_updated)}
    if location:
        headers["Location"] = (f"{base_url}/{stored.res_type}/{stored.res_id}"
                               f"/_history/{stored.version}")
    return headers


_MESSAGES = {"created": "Created {}.", "updated": "Updated {}.",
             "unchanged": "{} already held this content; no new version."}


def write_response(ctx: "Context", req: FhirRequest, stored: Stored, change: str) -> FhirResponse:
    """A write's response, shaped by `Prefer: return=`."""
    status = 201 if change == "created" else 200
    headers = resource_headers(stored, ctx.base_url, location=status == 201 or req.method == "PUT")
    choice = req.prefer_return
    if choice == "representation" and not ctx.repo.can_see(stored):
        choice = "minimal"  # a writer sees no more of what they wrote than they may read
    if choice == "minimal":
        body = None
    elif choice == "OperationOutcome":
        body = orjson.dumps(information(_MESSAGES[change].format(stored.reference)))
    else:
        body = stored.body
    return FhirResponse(status, body, headers, change=change, reference=stored.reference)
