"""Time as the server records it: naive UTC in the database, FHIR instants on the wire."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from consent.dates import local_to_utc


def now() -> datetime:
    # Millisecond precision: what FHIR clients round-trip reliably, and what
    # we store, so the stored value and the served meta.lastUpdated agree.
    t = datetime.now(timezone.utc).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def instant(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+00:00"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(t: datetime) -> str:
    """RFC 9110's IMF-fixdate of naive UTC `t` (what email.utils.format_datetime(usegmt=True)
    writes, at a fifth of its cost: every read's Last-Modified)."""
    return (f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} GMT")


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
