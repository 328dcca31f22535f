"""FHIR date / dateTime / Period as ranges of instants, and the one time-zone rule.

A FHIR partial date is a range ("2027-03-01" is that whole day), so an
inclusive Period end of "2027-03-01" holds until the next midnight.

The time-zone rule, for the whole service (consent here; search values,
search index rows and `_since` in the gateway, which import it): a date, or
a time without a zone, is read in Dutch local time — Europe/Amsterdam, with
summer time — where the clients and their carers live. FHIR search says the
same: a value without a zone is in the server's local time. A time with a
zone (or Z) means exactly that instant. Everything is compared in UTC.
"""
from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .model import DateRange

try:
    LOCAL_TZ: ZoneInfo | None = ZoneInfo("Europe/Amsterdam")
except ZoneInfoNotFoundError:  # slim images without tzdata: use the EU rule below
    LOCAL_TZ = None

# The first and last instants Python can hold: where a date at the calendar's ends is clamped.
FIRST_INSTANT = datetime.min.replace(tzinfo=timezone.utc)
LAST_INSTANT = datetime.max.replace(tzinfo=timezone.utc)

# FHIR R4 dateTime: a time needs seconds and a zone offset.
_DATETIME = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?P<f>\.\d+)?(?P<z>Z|[+-]\d{2}:\d{2}))?)?)?"
)


def parse_range(value: object) -> tuple[datetime, datetime]:
    """The half-open [lo, hi) a FHIR date/dateTime stands for. ValueError if malformed.

    At the ends of Python's calendar (year 1 east of UTC, the last second of 9999 or the day
    after 9999-12-31) an end that cannot be held is the first or last instant there is: it lies
    before, or after, every instant it is compared with (it was an OverflowError, a 500)."""
    if not isinstance(value, str):
        raise ValueError(f"not a FHIR date/dateTime: {value!r}")
    return _parse_range(value)


# Kept per value: reading a carer's Consents parses the same few dates again and again (a local
# date is a time-zone conversion per end), and the answer is two immutable instants. Bounded:
# values come from requests too. A malformed value raises every time (exceptions are not kept).
@functools.lru_cache(maxsize=4096)
def _parse_range(value: str) -> tuple[datetime, datetime]:
    m = _DATETIME.fullmatch(value)
    if not m:
        raise ValueError(f"not a FHIR date/dateTime: {value!r}")
    year = int(m["y"])
    edge = FIRST_INSTANT if year <= 1 else LAST_INSTANT

    def held(compute) -> datetime:
        try:
            return compute()
        except (OverflowError, ValueError):  # ValueError: the year after 9999 (inputs are checked above)
            return edge

    if m["H"] is not None:
        sign = -1 if m["z"].startswith("-") else 1
        offset = timedelta(0) if m["z"] == "Z" else sign * timedelta(
            hours=int(m["z"][1:3]), minutes=int(m["z"][4:6]))
        if abs(offset) > timedelta(hours=14):
            raise ValueError(f"timezone offset out of range: {value!r}")
        digits = (m["f"] or ".")[1:7]
        micros = int(digits.ljust(6, "0")) if digits else 0
        wall = datetime(year, int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), int(m["S"]),
                        micros, tzinfo=timezone(offset))
        lo = held(lambda: wall.astimezone(timezone.utc))
        step = timedelta(microseconds=10 ** (6 - len(digits))) if digits else timedelta(seconds=1)
        return lo, held(lambda: (wall + step).astimezone(timezone.utc)) if lo is not edge else edge
    if m["d"] is not None:
        day = date(year, int(m["m"]), int(m["d"]))
        return held(lambda: _midnight(day)), held(lambda: _midnight(day + timedelta(days=1)))
    if m["m"] is not None:
        month = int(m["m"])
        first = date(year, month, 1)
        return held(lambda: _midnight(first)), held(lambda: _midnight(date(year + month // 12, month % 12 + 1, 1)))
    return held(lambda: _midnight(date(year, 1, 1))), held(lambda: _midnight(date(year + 1, 1, 1)))


def local_to_utc(wall: datetime) -> datetime:
    """A wall-clock time without zone (naive), read in Dutch local time, as an aware UTC instant.

    In UTC because Python compares and subtracts datetimes sharing one tzinfo
    by wall clock, which is wrong across a DST change; UTC is also what SQL
    stores. OverflowError within hours of datetime.min/max."""
    if LOCAL_TZ is not None:
        return wall.replace(tzinfo=LOCAL_TZ).astimezone(timezone.utc)
    return (wall - _eu_offset(wall)).replace(tzinfo=timezone.utc)


def _midnight(day: date) -> datetime:
    return local_to_utc(datetime(day.year, day.month, day.day))


def _eu_offset(wall: datetime) -> timedelta:
    """CET/CEST by the EU rule since 1996: summer time from 01:00 UTC on the last
    Sunday of March to 01:00 UTC on the last Sunday of October. (Only within
    the switch hours themselves may this differ from the tz database.)"""
    def switch(month: int) -> datetime:
        last = date(wall.year, month, 31)
        sunday = last - timedelta(days=(last.weekday() + 1) % 7)
        return datetime(sunday.year, sunday.month, sunday.day, 1)
    summer = switch(3) <= wall - timedelta(hours=1) < switch(10)
    return timedelta(hours=2 if summer else 1)


def parse_period(period: object) -> DateRange:
    """A FHIR Period as [start.lo, end.hi): both ends inclusive at their precision.

    ValueError when malformed, including start after end (FHIR invariant per-1)."""
    if not isinstance(period, dict):
        raise ValueError(f"Period is not an object: {period!r}")
    unknown = set(period) - {"id", "extension", "start", "end"}
    if unknown:
        raise ValueError(f"Period has unknown elements {sorted(unknown)}")
    start = parse_range(period["start"])[0] if "start" in period else None
    end = parse_range(period["end"])[1] if "end" in period else None
    if start is not None and end is not None and start >= end:
        raise ValueError(f"Period starts after it ends: {period!r}")
    return DateRange(start, end)


def lenient_range(value: object) -> DateRange | None:
    """For resource facts: a date we cannot read is no date at all."""
    try:
        lo, hi = parse_range(value)
    except ValueError:
        return None
    return DateRange(lo, hi)


def lenient_period(value: object) -> DateRange | None:
    try:
        rng = parse_period(value)
    except ValueError:
        return None
    if rng.start is None and rng.end is None:
        return None
    return rng


def within(now: datetime, rng: DateRange) -> bool:
    return (rng.start is None or rng.start <= now) and (rng.end is None or now < rng.end)


def instants_in(node: object) -> set[datetime]:
    """Every instant at which `within(now, period)` may change its answer for a Period anywhere in
    `node` (both ends of every `start`/`end` value, however nested). Between two neighbouring
    instants, whatever the engine reads of `node` against now stays the same, which is what lets
    a caller keep a reading for that long."""
    found: set[datetime] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("start", "end") and isinstance(value, str):
                    try:
                        found.update(parse_range(value))
                    except ValueError:
                        pass
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return found
