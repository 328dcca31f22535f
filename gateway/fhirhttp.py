"""FHIR requests and responses as values, independent of Flask.

The same handlers serve HTTP requests and the entries of batch/transaction
Bundles; both are turned into a FhirRequest first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .errors import BadRequest


@dataclass
class FhirRequest:
    method: str
    path: str  # relative to the FHIR base, without leading slash: "Patient/1/_history"
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: object = None  # parsed JSON
    raw_body: bytes = b""
    base_url: str = ""
    params: dict[str, str] = field(default_factory=dict)  # filled by the router

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def prefer_return(self) -> str:
        return prefer(self.header("prefer")).get("return", "representation")

    @property
    def prefer_strict(self) -> bool:
        return prefer(self.header("prefer")).get("handling") == "strict"


@dataclass
class FhirResponse:
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    change: str | None = None  # a write's effect: created | updated | unchanged | deleted
    reference: str | None = None  # the resource a write touched, "Type/id"


def prefer(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (value or "").split(","):
        for token in part.split(";"):
            if "=" in token:
                k, v = token.split("=", 1)
                out[k.strip().lower()] = v.strip().strip('"')
    return out


def split_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a relative FHIR URL (bundle entry request.url) into path and query."""
    path, _, qs = url.partition("?")
    try:
        query = parse_qsl(qs, keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise BadRequest(f"Malformed query in '{url}'.") from None
    return path.strip("/"), query


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_etag(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    v = v.strip('"')
    if not (v.isascii() and v.isdigit()):
        raise BadRequest(f"Malformed ETag '{value}'; expected W/\"<versionId>\".")
    return int(v)
