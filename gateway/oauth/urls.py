"""Where the authorization server is: derived from SAMENZORG_BASE_URL (the public FHIR base) or,
without it, from the request's host, like every other URL the gateway writes."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

from ..config import Settings


def fhir_base(settings: Settings) -> str:
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return request.url_root.rstrip("/") + "/fhir"


def server_root(settings: Settings) -> str:
    """The origin (and path prefix) the /oauth endpoints are served under."""
    if settings.base_url:
        base = settings.base_url.rstrip("/")
        if base.endswith("/fhir"):
            return base[: -len("/fhir")]
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"
    return request.url_root.rstrip("/")


def issuer(settings: Settings) -> str:
    """The FHIR base: what a SMART app knows the server by (id_token `iss`, discovery `issuer`)."""
    return fhir_base(settings)


def endpoint(settings: Settings, name: str) -> str:
    return f"{server_root(settings)}/oauth/{name}"


def token_url(settings: Settings) -> str:
    return endpoint(settings, "token")


def is_https(settings: Settings) -> bool:
    return (settings.base_url or "").startswith("https://") or request.is_secure
