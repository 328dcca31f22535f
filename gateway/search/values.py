"""Value normalisation shared by indexing and querying.

Whatever is written into an index row and whatever a search compares it
with pass through the same functions here, so the two can never disagree
(case, accents, truncation, time zones, partial dates).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone

from consent.dates import local_to_utc

STRING_MAX = 255  # idx_string.value_norm, idx_token.* columns
URI_MAX = 512  # idx_uri.uri
ID_MAX = 64  # idx_reference.target_type / target_id


def normalise(text: str) -> str:
    """Lower case, accents stripped, truncated: the form string search compares.

    NFKD splits "é" into "e" + a combining accent, which we drop; casefold
    is lower() that also folds "ß" to "ss".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().strip()[:STRING_MAX]


def clip(text: str | None, limit: int = STRING_MAX) -> str | None:
    return None if text is None else text[:limit]


_DATE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?"
    r"(?P<tz>Z|[+\- ]\d{2}:\d{2})?)?)?)?"
)


def date_range(value: str) -> tuple[datetime | None, datetime | None] | None:
    """The instant range [low, high) a FHIR date/dateTime/instant covers, naive UTC.

    Precision sets the width: "2026" is the whole year, "2026-03" the month,
    "2026-03-05T10:00" the minute. A value without a time zone is read in
    Dutch local time (the one rule, consent.dates); a time zone is honoured.
    None when malformed. An upper bound past year 9999 is open (None).
    """
    if not isinstance(value, str):
        return None
    match = _DATE.fullmatch(value.strip())
    if match is None:
        return None
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["m"] is None:
            return _local(datetime(year, 1, 1)), _safe(lambda: _local(datetime(year + 1, 1, 1)))
        month = int(g["m"])
        if g["d"] is None:
            return (_local(datetime(year, month, 1)),
                    _safe(lambda: _local(datetime(year + month // 12, month % 12 + 1, 1))))
        day = datetime(year, month, int(g["d"]))
        if g["H"] is None:
            return _local(day), _safe(lambda: _local(day + timedelta(days=1)))
        low = day.replace(hour=int(g["H"]), minute=int(g["M"]))
        width = timedelta(minutes=1)
        if g["S"] is not None:
            low = low.replace(second=int(g["S"]))
            width = timedelta(seconds=1)
            if g["f"] is not None:
                digits = g["f"][:6]
                low = low.replace(microsecond=int(digits.ljust(6, "0")))
                width = timedelta(microseconds=10 ** (6 - len(digits)))
        tz = g["tz"]
        if not tz:
            low = _local(low)
        elif tz != "Z":
            # A "+" in a query string arrives as a space when not percent-encoded.
            sign = -1 if tz[0] == "-" else 1
            offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * sign
            low = low.replace(tzinfo=timezone(offset)).astimezone(timezone.utc).replace(tzinfo=None)
        return low, _safe(lambda: low + width)
    except (ValueError, OverflowError):
        return None


def _local(wall: datetime) -> datetime:
    """Dutch local wall-clock time as naive UTC; the first day of year 1 starts at datetime.min."""
    try:
        return local_to_utc(wall).replace(tzinfo=None)
    except OverflowError:
        if wall.year == 1:
            return datetime.min
        raise


def _safe(make):
    try:
        return make()
    except (ValueError, OverflowError):
        return None


_REF_TAIL = re.compile(r"(?:^|/)(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def split_reference(ref: str) -> tuple[str | None, str | None, str | None]:
    """A Reference.reference as (type, id, url) for an idx_reference row.

    Relative "Patient/1" (optionally with `/_history/n`) gives type and id and
    no url. An absolute URL keeps the url, plus type and id when its tail has
    that shape, so `{base}/Patient/1` can be found as Patient/1 on this
    server. Anything else (urn:uuid:, logical URIs) is kept as url only.
    """
    if not ref or ref.startswith("#"):
        return None, None, None
    match = _REF_TAIL.search(ref)
    absolute = "://" in ref or ref.startswith("urn:")
    if match is None:
        return None, None, ref
    if not absolute and match.start() != 0:
        return None, None, ref
    return match["type"], match["id"], (ref if absolute else None)
