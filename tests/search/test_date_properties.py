"""Property: date search in SQL agrees with the R4 definitions written over intervals.

The oracle below restates search.html's prefix table literally ("the range
above the search value intersects the target", "the search range fully
contains the target", ...) with explicit infinities, independent of the SQL
builder's NULL handling.
"""
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.search.values import date_range

NEG, POS = datetime.min, datetime.max

# Targets: CareTeam.period with each precision and open ends, around March 2026.
STARTS = [None, "2026", "2026-02", "2026-03-01", "2026-03-05T10:00:00Z", "2026-03-15", "2026-04"]
ENDS = [None, "2026-03", "2026-03-05", "2026-03-05T10:00:00Z", "2026-03-20", "2026-12", "2027"]
TARGETS = [(s, e) for s in STARTS for e in ENDS
           if not (s and e and date_range(s)[0] >= date_range(e)[1])]


def target_range(start, end):
    low = date_range(start)[0] if start else NEG
    high = date_range(end)[1] if end else POS
    return low, high


def intersects(a, b):
    return max(a[0], b[0]) < min(a[1], b[1])


def contains(outer, inner):
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def oracle(prefix, search, target):
    above, below = (search[1], POS), (NEG, search[0])
    return {
        "eq": lambda: contains(search, target),
        "ne": lambda: not contains(search, target),
        "gt": lambda: intersects(above, target),
        "lt": lambda: intersects(below, target),
        "ge": lambda: intersects(above, target) or contains(search, target),
        "le": lambda: intersects(below, target) or contains(search, target),
        "sa": lambda: not intersects(search, target) and contains(above, target),
        "eb": lambda: not intersects(search, target) and contains(below, target),
    }[prefix]()


SEARCH_VALUES = st.sampled_from(["2026", "2026-02", "2026-03", "2026-03-05", "2026-03-05T10:00:00Z",
                                 "2026-03-05T10:00", "2026-03-14", "2026-03-20", "2026-04-01", "2025",
                                 "2027-06", "2026-03-05T11:00:00+01:00"])
PREFIXES = st.sampled_from(["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"])


@pytest.fixture
def periods(store):
    for i, (start, end) in enumerate(TARGETS):
        period = {k: v for k, v in (("start", start), ("end", end)) if v}
        store.put({"resourceType": "CareTeam", "id": f"t{i}", "period": period})
    return store


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=PREFIXES, value=SEARCH_VALUES)
def test_date_prefixes_agree_with_the_interval_definitions(periods, prefix, value):
    search = date_range(value)
    expected = sorted(f"t{i}" for i, (s, e) in enumerate(TARGETS)
                      if (s or e) and oracle(prefix, search, target_range(s, e)))
    got = sorted(periods.ids("CareTeam", f"date={prefix}{value}&_count=500"))
    assert got == expected
