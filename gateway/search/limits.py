"""The stated limits of search and history, in one place.

Each is checked before any SQL is built: a query over a limit is refused
with 400 naming the limit, except `_count`, which FHIR lets a server cap
(the cap shows in the `self` link). The CapabilityStatement
(`rest.documentation`) and the README list the same table, from here.
"""
from __future__ import annotations

DEFAULT_COUNT = 20  # page size when _count is absent (search and history)
MAX_COUNT = 500  # a larger _count is lowered to this
MAX_PARAMETERS = 40  # name=value pairs in one query (URL and form together)
MAX_OR_VALUES = 50  # comma-separated values in one parameter
MAX_SORT_KEYS = 3  # keys in _sort
MAX_CHAIN = 3  # links in one chain or nested _has (a.b.c.d=x has three)
MAX_INCLUDES = 10  # _include and _revinclude parameters together
MAX_INCLUDE_ROUNDS = 4  # the first include round plus three of :iterate (then stops)
MAX_INCLUDED = 1000  # included resources per page (then stops)

# (limit, value, what happens when exceeded), for the CapabilityStatement and the README.
TABLE = (
    ("parameters per query", MAX_PARAMETERS, "400"),
    ("values per parameter (OR, comma-separated)", MAX_OR_VALUES, "400"),
    ("_sort keys", MAX_SORT_KEYS, "400"),
    ("links in a chain or nested _has", MAX_CHAIN, "400"),
    ("_include and _revinclude parameters", MAX_INCLUDES, "400"),
    ("_count (search and _history)", MAX_COUNT, f"capped; default {DEFAULT_COUNT}"),
    ("include rounds with :iterate", MAX_INCLUDE_ROUNDS, "stops"),
    ("included resources per page", MAX_INCLUDED, "stops"),
)


def documentation() -> str:
    """Markdown for CapabilityStatement.rest.documentation (R4 has no structured place for these)."""
    rows = "\n".join(f"- {what}: {value} ({outcome})" for what, value, outcome in TABLE)
    return ("Search limits, checked before the search runs:\n\n" + rows + "\n\n"
            "A malformed value for a known parameter, an unsupported modifier or prefix, and a page "
            "link (_cursor) that was altered or made elsewhere are refused with 400 whatever "
            "Prefer: handling says; handling=lenient only ignores parameters the server does not know.\n\n"
            "Consent?actor= is R4's (the top-level provision only); Consent?provision-actor= "
            "(https://samenzorg.nl/fhir/SearchParameter/Consent-provision-actor) finds an actor at "
            "any level of nesting.")
