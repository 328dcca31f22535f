"""Opaque, signed page links with a keyset cursor.

A `next`/`previous` link carries one parameter, `_cursor`: the normalised
query and the sort-key values of the last (or first) row shown, signed with
HMAC-SHA256 under the server's paging key. So:

- a client cannot edit a page link to widen the search (the query is inside
  the signature; a changed byte is a 400);
- paging is by position in the sort order ("rows after this key"), not by
  offset, so rows inserted or deleted between requests never make another
  row be skipped or shown twice. The final sort key is always `rid`, unique
  and never reused, which makes the order total.

The cursor grants nothing: access (`restrict`) is applied afresh on every
page, for the caller making that request.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import and_, false, or_

from ..errors import BadRequest

VERSION = 1


PAGE = "_cursor"  # the one parameter of a page link
TRANSPORT = frozenset({"_format", "_pretty"})  # about the HTTP exchange; allowed beside it


@dataclass(frozen=True)
class Cursor:
    res_type: str | None  # the endpoint: a type or None (search), "T/id/_history" (history)
    params: list[tuple[str, str]]  # the applied parameters, as in `self`
    values: tuple  # sort-key values of the anchor row, rid last
    backward: bool  # True: the page before the anchor


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(v):
    if v is None:
        return None
    if isinstance(v, datetime):
        return {"d": v.isoformat()}
    if isinstance(v, (int, str)):
        return v
    raise TypeError(f"cannot put {type(v).__name__} in a cursor")


def _decode_value(v):
    if isinstance(v, dict):
        return datetime.fromisoformat(v["d"])
    return v


def sign(key: bytes, cursor: Cursor) -> str:
    payload = orjson.dumps({
        "v": VERSION,
        "t": cursor.res_type,
        "p": [list(p) for p in cursor.params],
        "k": [_encode_value(v) for v in cursor.values],
        "b": cursor.backward,
    })
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(key: bytes, token: str, res_type: str | None) -> Cursor:
    """The cursor in a page token; BadRequest when it was not made here, was altered, or is
    used at another endpoint."""
    try:
        body, mac = token.split(".")
        payload = _unb64(body)
        expected = hmac.new(key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise ValueError("signature")
        data = orjson.loads(payload)
        if data["v"] != VERSION:
            raise ValueError("version")
        cursor = Cursor(data["t"], [(str(k), str(v)) for k, v in data["p"]],
                        tuple(_decode_value(v) for v in data["k"]), bool(data["b"]))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise BadRequest("The page link is not valid here (altered, expired or from another "
                         "server); start the search again.", expression=(PAGE,)) from None
    if cursor.res_type != res_type:
        raise BadRequest("The page link belongs to another endpoint.", expression=(PAGE,))
    return cursor


def from_request(key: bytes, params: list[tuple[str, str]], endpoint: str | None) -> Cursor | None:
    """The verified cursor when the request is a page link, else None.

    The query comes from the signed token, not the URL, so it cannot be
    widened; any other parameter beside it is refused."""
    tokens = [v for k, v in params if k == PAGE]
    if not tokens:
        return None
    if len(tokens) > 1 or any(k != PAGE and k not in TRANSPORT for k, _ in params):
        raise BadRequest("A page link (_cursor) cannot be combined with other parameters.",
                         expression=(PAGE,))
    return verify(key, tokens[0], endpoint)


@dataclass(frozen=True)
class Key:
    """One ORDER BY key; NULLs always sort last in the forward order. `nullable=False` (rid): no
    NULLs to place, so the plain order, which a database can read from the key's own index."""

    expr: object
    descending: bool
    nullable: bool = True


def order_by(keys: list[Key], backward: bool) -> list:
    out = []
    for k in keys:
        desc = k.descending != backward
        col = k.expr.desc() if desc else k.expr.asc()
        # Forward: NULLs last; walking backward reverses that too.
        out.append(col if not k.nullable else col.nulls_first() if backward else col.nulls_last())
    return out


def after(keys: list[Key], values: tuple, backward: bool):
    """Rows strictly after `values` in the (possibly reversed) order of `keys`."""
    ors = []
    for i, (k, v) in enumerate(zip(keys, values)):
        prefix = [_equal(kk.expr, vv) for kk, vv in zip(keys[:i], values[:i])]
        ors.append(and_(*prefix, _beyond(k, v, backward)))
    return or_(false(), *ors)


def _equal(expr, v):
    return expr.is_(None) if v is None else expr == v


def _beyond(k: Key, v, backward: bool):
    desc = k.descending != backward
    nulls_first = backward
    if v is None:
        # Among NULLs nothing is beyond; after the NULLs (when they come
        # first) every non-NULL value is.
        return k.expr.is_not(None) if nulls_first else false()
    greater = k.expr < v if desc else k.expr > v
    return greater if nulls_first or not k.nullable else or_(greater, k.expr.is_(None))
