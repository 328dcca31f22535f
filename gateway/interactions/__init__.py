"""FHIR interaction handlers: functions of (Context, FhirRequest) -> FhirResponse."""
from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def page_key(self) -> bytes:
        return self.settings.derived_key("paging")


def resource_headers(stored: Stored, base_url: str, *, location: bool = False) -> dict[str, str]:
    headers = {"ETag": etag(stored.version), "Last-Modified": fhirtime.http_date(stored.last_updated)}
    if location:
        headers["Location"] = (f"{base_url}/{stored.res_type}/{stored.res_id}"
                               f"/_history/{stored.version}")
    return headers


def write_response(req: FhirRequest, stored: Stored, status: int, base_url: str,
                   message: str) -> FhirResponse:
    """A write's response, shaped by `Prefer: return=`."""
    headers = resource_headers(stored, base_url, location=status == 201 or req.method == "PUT")
    choice = req.prefer_return
    if choice == "minimal":
        body = None
    elif choice == "OperationOutcome":
        body = orjson.dumps(information(message))
    else:
        body = stored.body
    return FhirResponse(status, body, headers, resource_body=stored.body)
