"""Time as the server records it: naive UTC in the database, FHIR instants on the wire."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from consent.dates import local_to_utc


def now() -> datetime:
    # Millisecond precision: what FHIR clients round-trip reliably, and what
    # we store, so the stored value and the served meta.lastUpdated agree.
    t = datetime.now(timezone.utc).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def instant(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+00:00"


def http_date(t: datetime) -> str:
    return format_datetime(t.replace(tzinfo=timezone.utc), usegmt=True)


def parse_http_date(value: str) -> datetime | None:
    try:
        t = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if t is None:
        return None
    if t.tzinfo is not None:
        try:
            t = t.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 9999-12-31 west of GMT: no UTC instant (a 500, before)
            return None
    return t


def parse_instant(value: str) -> datetime | None:
    """A FHIR instant or dateTime (as in `_since`), to naive UTC; None when malformed.

    A bare date is its first instant in Dutch local time (the one rule, consent.dates)."""
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        if "T" in value:
            return None
        try:
            t = local_to_utc(t)
        except OverflowError:
            return None
    try:
        return t.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it: no UTC instant to compare with
        return None
