"""A carer's access clause shared by every carer whose Consents have the same shape; their own
values bound by name at execution.

A carer's clause (policy.py) holds their client's id, their own id and what their Consents name
(ids, codes, periods). Built with those values in it, each carer had clauses of their own, and so
statements of their own: every statement kept per clause (searches, includes, reads by id) was
kept per carer, and with more carers than a process keeps, nearly every carer's request built,
cache-keyed and compiled its SQL again (bench/results/2026-12-02-round13-summary.md). Here the
clause is built with each such value as a named parameter (`acc_<type>_<n>`, in the order it is
built), and the first clause of each shape is kept and handed to every carer of that shape: the
statements kept under it serve them all. A carer's own values go in with every statement run on
their request's connection (`Bound`).

Fail closed: the named parameters have no value of their own, so a statement run without the
caller's values is refused by SQLAlchemy and by `Direct` alike; it never runs with another
carer's. The shape is the clause's SQLAlchemy cache key (its structure and parameter names)
together with the values of every parameter *not* named here, so a value that is not bound by
name can only make a shape of its own, never share one it does not match.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict

from sqlalchemy import bindparam

PREFIX = "acc_"
MAX_SHAPES = 512  # shapes kept per process: a few per type for the sharing choices carers have


class Binds:
    """Names the values of one type's access clause while it is built: `binds(value)` is the
    parameter to put in the clause; `values` what this caller gives for them."""

    def __init__(self, res_type: str):
        self.prefix = f"{PREFIX}{res_type}_"
        self.values: dict[str, object] = {}

    def __call__(self, value):
        if value is None:  # stays in the SQL as it is (`IS NULL`), part of the shape
            return None
        param = _named(f"{self.prefix}{len(self.values)}")
        self.values[param.key] = value  # the kept parameter's name: one string for every carer
        return param


@functools.lru_cache(maxsize=4096)
def _named(name: str):
    # No value and required: a statement run without the caller's values fails instead of running.
    return bindparam(name, required=True)


class Shapes:
    """The first clause built of each shape, least recently used out past `MAX_SHAPES`."""

    def __init__(self, bound: int = MAX_SHAPES):
        self._bound = bound
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def share(self, clause):
        """The kept clause of `clause`'s shape (`clause` itself the first time)."""
        key = shape_of(clause)
        if key is None:  # SQLAlchemy cannot key it: this carer's own
            return clause
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
            self._kept[key] = clause
            while len(self._kept) > self._bound:
                self._kept.popitem(last=False)
        return clause


def shape_of(clause):
    """What decides the clause's SQL and every value not named here; None: not keyable."""
    cache_key = clause._generate_cache_key()
    if cache_key is None:
        return None
    others = tuple(_hashable(b.value) for b in cache_key.bindparams if not b.key.startswith(PREFIX))
    return cache_key.key, others


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


shapes = Shapes()


class Bound:
    """A request's connection that puts the caller's access values (`values`, filled as the
    policy builds clauses) into every SELECT it runs; anything else goes to the connection itself.
    The caller's values win over a parameter of the same name."""

    def __init__(self, conn, values: dict):
        self.connection_ = conn
        self.access_values = values

    def execute(self, statement, parameters=None, **kwargs):
        if self.access_values and getattr(statement, "is_select", False) and not isinstance(parameters, list):
            parameters = {**(parameters or {}), **self.access_values}
        return self.connection_.execute(statement, parameters, **kwargs)

    def __getattr__(self, name):
        return getattr(self.connection_, name)


def unbound(conn):
    """The connection itself, under a `Bound` one (for event listeners)."""
    return conn.connection_ if isinstance(conn, Bound) else conn
