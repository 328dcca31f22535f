"""FHIR R4 search: the parameter registry, index extraction, query building, paging.

What the rest of the gateway calls:

- `index_rows(resource)` — index-table rows for a resource (pure).
- `match(conn, res_type, params, restrict=None, limit=2)` — ids matching, for
  conditional create/update/delete.
- `search_bundle(conn, res_type=…, params=…, base_url=…, strict=…, page_key=…,
  restrict=None)` — (a searchset Bundle as JSON bytes, the stored rows it shows).
- `capability()` — searchParam / searchInclude / searchRevInclude per type
  ("*" holds the system-level parameters).
- `REGISTRY` — every parameter of every served type, as data.

Choices where the spec leaves room:

- `_total` defaults to `accurate` (one COUNT with the same WHERE as the page);
  `estimate` is answered accurately too; `none` skips the count.
- A malformed value for a known parameter (or an unsupported modifier, or
  a limit exceeded) is a 400 whatever `Prefer: handling` says; lenient
  handling only ignores parameters the server does not know (parse.py
  marks those, execute.py decides). The limits are in limits.py.
- `_count` defaults to 20 and is capped at 500 (the cap shows in `self`).
- Without `_sort`, results come in insertion order (rid). Sorting by a
  multi-valued parameter uses its lowest value ascending, its highest
  descending; resources without a value come last either way.
- Page links carry one signed parameter, `_cursor`; see paging.py. History
  paging (interactions/history.py) uses the same code.
- `Consent?provision-actor` (our own parameter) looks for the actor at every
  provision level; R4's `actor` looks at the top-level provision only.
- Dates without a time zone are Dutch local time (consent.dates.local_to_utc). `ap` is within 10% of the
  distance between the value and now (at least a day).
- `_summary`/`_elements` shape the matches; included resources come whole.
- Not supported (so not in the CapabilityStatement): `_text`, `_content`,
  `_list`, `_query`, `_filter`, `_contained`, number/quantity/composite
  parameters, the `:identifier`, `:of-type`, `:above`, `:in`, `:not-in`
  modifiers, and type-specific parameters at system level (even with `_type`).
"""
from .capability import capability
from .execute import match, search_bundle
from .extract import index_rows
from .registry import REGISTRY, SearchParam

__all__ = ["REGISTRY", "SearchParam", "capability", "index_rows", "match", "search_bundle"]
