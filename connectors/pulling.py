"""What every pulling kind shares: fetching JSON from the source, refusing foreign hosts, page errors.

A page that cannot be read (an HTTP error after the session's retries, a timeout, malformed JSON,
a `next` link to another host) stops the sync with `UpstreamError`: nothing of that page is
stored and the next run resumes from the last stored page. A single bad record inside a readable
page is not an error here: it becomes a `Change` with `error`, and the gateway quarantines it.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import orjson
import requests


class UpstreamError(Exception):
    """A page could not be fetched or read; the message names the URL and why (never a body or token)."""


def same_origin(base_url: str, url: str) -> bool:
    a, b = urlsplit(base_url), urlsplit(url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def resolve(base_url: str, link: str) -> str:
    """An absolute or relative link, resolved against the source; refused when it leaves the source's host
    (a compromised or confused upstream must not send our credentials elsewhere)."""
    url = urljoin(base_url.rstrip("/") + "/", link)
    if not same_origin(base_url, url):
        raise UpstreamError(f"refusing to follow a link to another host than the source's: {_safe(url)}")
    return url


def _safe(url: str) -> str:
    """The URL without its query (which may carry cursors or search terms) for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def get(session: requests.Session, url: str, *, absent=(), **kwargs) -> requests.Response | None:
    """The upstream's answer; None for a status in `absent` (e.g. 404/410 of a dangling reference)."""
    try:
        resp = session.get(url, **kwargs)
    except requests.RequestException as exc:
        raise UpstreamError(f"{_safe(url)}: {describe(exc)}") from None
    if resp.status_code in absent:
        return None
    if resp.status_code >= 400:
        raise UpstreamError(f"{_safe(url)}: HTTP {resp.status_code}")
    return resp


def get_json(session: requests.Session, url: str, **kwargs) -> object:
    return parse_json(get(session, url, **kwargs).content, _safe(url))


def describe(exc: requests.RequestException) -> str:
    """What went wrong, without the URL's query or anything the upstream sent."""
    text = str(exc)
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "timed out" + (" (read)" if "Read timed out" in text or isinstance(exc, requests.ReadTimeout) else "")
    if "Max retries exceeded" in text and "too many" in text:
        return "gave up after retries (HTTP 429/5xx)"
    return f"connection failed ({type(exc).__name__})"


def get_bytes(session: requests.Session, url: str) -> bytes:
    return get(session, url).content


def parse_json(raw: bytes, where: str) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(f"{where}: malformed JSON ({exc.args[0].split(':')[0]})") from None
