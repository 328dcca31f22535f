"""What a Subscription may say: criteria on a served type, a rest-hook channel to a safe endpoint.

R4 4.0.1 Subscription. Checked on create and update, after structural validation; anything refused is a
422 naming the element (and, for criteria, the search parameter), and nothing is stored.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from ..errors import Invalid
from ..fhirtime import parse_instant
from ..resource_types import SERVED
from ..search.parse import parse

FHIR_JSON = "application/fhir+json"
# Types nobody may subscribe to: Subscriptions themselves (a status change would notify about
# notifications) and AuditEvents (written by every disclosure, notifications included).
NOT_SUBSCRIBABLE = frozenset({"Subscription", "AuditEvent"})
MAX_HEADERS, MAX_HEADER_LENGTH = 10, 2000
_HEADER = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t -~]*")
# A client may set these; `active` and `error` are the server's to set (after deliveries).
CLIENT_STATUSES = ("requested", "off")


@dataclass(frozen=True)
class Channel:
    criteria_type: str
    criteria: list[tuple[str, str]]
    endpoint: str
    headers: tuple[str, ...]
    payload: str | None


def _invalid(message: str, expression: str) -> Invalid:
    return Invalid(message, expression=(expression,))


def criteria_of(text: object) -> tuple[str, list[tuple[str, str]]]:
    """`Type?query` on a served type, parsed by the search parser (filters only)."""
    if not isinstance(text, str) or not text:
        raise _invalid("Subscription.criteria is required: a search URL such as 'Communication?patient=Patient/1'.",
                       "Subscription.criteria")
    res_type, _, query = text.partition("?")
    if res_type not in SERVED:
        raise _invalid(f"Subscription.criteria must search a type this server serves; '{res_type}' is not one.",
                       "Subscription.criteria")
    if res_type in NOT_SUBSCRIBABLE:
        raise _invalid(f"Subscriptions to {res_type} are not offered.", "Subscription.criteria")
    try:
        params = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _invalid("Subscription.criteria has a malformed query string.", "Subscription.criteria") from None
    q = parse(res_type, params, filters_only=True)
    if q.problems:
        p = q.problems[0]
        raise _invalid(f"Subscription.criteria: search parameter '{p.name}': {p.message}", "Subscription.criteria")
    return res_type, params


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_of(value: object, allow_http: bool) -> str:
    where = "Subscription.channel.endpoint"
    if not isinstance(value, str) or not value:
        raise _invalid("A rest-hook Subscription needs channel.endpoint (an https URL).", where)
    try:
        url = urlsplit(value)
        host = url.hostname or ""
        url.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise _invalid("channel.endpoint is not a valid URL.", where) from None
    if url.scheme not in ("https", "http") or not host or url.username or url.password or url.fragment:
        raise _invalid("channel.endpoint must be an absolute https URL without credentials or fragment.", where)
    if url.scheme == "http" and not (allow_http or _loopback(host)):
        raise _invalid("channel.endpoint must use https (plain http only to this machine's loopback address, "
                       "unless SAMENZORG_SUBSCRIPTION_ALLOW_HTTP is set).", where)
    return value


def headers_of(value: object) -> tuple[str, ...]:
    where = "Subscription.channel.header"
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_HEADERS:
        raise _invalid(f"channel.header is a list of at most {MAX_HEADERS} 'Name: value' strings.", where)
    for h in value:
        if not isinstance(h, str) or len(h) > MAX_HEADER_LENGTH or not _HEADER.fullmatch(h):
            raise _invalid("Each channel.header is one HTTP header line, 'Name: value' (printable ASCII).", where)
    return tuple(value)


def channel_of(resource: dict, allow_http: bool) -> Channel:
    res_type, params = criteria_of(resource.get("criteria"))
    channel = resource.get("channel")
    if not isinstance(channel, dict):
        raise _invalid("Subscription.channel is required.", "Subscription.channel")
    if channel.get("type") != "rest-hook":
        raise _invalid(f"Only rest-hook Subscriptions are offered here, not '{channel.get('type')}'.",
                       "Subscription.channel.type")
    payload = channel.get("payload")
    if payload not in (None, FHIR_JSON):
        raise _invalid(f"channel.payload is absent (an empty notification) or '{FHIR_JSON}' (the ids of what "
                       f"changed, never its content), not {payload!r}.", "Subscription.channel.payload")
    return Channel(res_type, params, endpoint_of(channel.get("endpoint"), allow_http),
                   headers_of(channel.get("header")), payload)


def ends_at(resource: dict) -> datetime | None:
    """Subscription.end as naive UTC: when the server turns the Subscription off (None: never)."""
    end = resource.get("end")
    return parse_instant(end) if isinstance(end, str) else None


def settle_status(resource: dict, current: dict | None, channel_changed: bool, now: datetime) -> dict:
    """The status the stored version gets. A client asks for `requested` (a new handshake) or
    `off`; an unchanged server status is kept; the server's `error` text is kept only with it.
    One whose `end` has passed is `off`: R4's end is "the time for the server to turn the
    subscription off"."""
    asked = resource.get("status")
    stored = (current or {}).get("status")
    if asked not in CLIENT_STATUSES and not (current is not None and asked == stored):
        raise _invalid(f"A client sets a Subscription's status to requested or off; '{asked}' is set by the "
                       "server after deliveries.", "Subscription.status")
    status = asked
    if status in ("active", "error") and channel_changed:
        status = "requested"  # a new endpoint or criteria is confirmed by a new handshake
    if (end := ends_at(resource)) is not None and end <= now:
        status = "off"
    out = {k: v for k, v in resource.items() if k != "error"}
    out["status"] = status
    if status == "error" and current is not None and current.get("error"):
        out["error"] = current["error"]
    return out
