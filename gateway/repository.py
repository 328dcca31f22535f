"""Repository(connection, access): the only way handlers reach stored data.

Every read, search, history and write goes through here, and access policy
(`Access.restrict`) is applied here, so no handler can forget it. Writes
validate nothing themselves: callers pass resources that `validation`
already approved.
"""
from __future__ import annotations

import functools
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import and_, bindparam, delete, event, exists, false, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from . import audit, audit_store, fhirtime
from .access import Access
from .access_binds import unbound
from .consent_cache import ConsentCache
from .consent_sql import fact_rows, referrers
from .errors import BadRequest, Conflict, Forbidden, Gone, NotFound, PreconditionFailed
from .policy import COMPARTMENT_TYPES, DIRECTORY, Policy, compartment_of, in_record, patient_of
from .resource_types import SERVED, SERVED_TYPES
from .scopes import CREATE, DELETE, READ, SEARCH, UPDATE
from .search import index_rows, match, search_bundle
from .search.everything import Everything, everything_bundle
from .search.match_many import match_many
from .search.paging import Cursor
from .search.prepared import Kept
from .subscriptions import lifecycle
from .subscriptions.matching import anyone_subscribed, notify, subscribed
from .storage.direct import PER_CALLER, Direct
from .storage.tables import INDEX_TABLES, history_compartment, resource_history, resources, server_state

SERVER_META = ("versionId", "lastUpdated")

# Statements every read and write runs, built once: building and cache-keying a statement per call
# was over a third of a write's CPU (bench/results/*-profile-*). Parameters go in at execution.
_CURRENT = select(resources).where(resources.c.res_type == bindparam("k_type"),
                                   resources.c.res_id == bindparam("k_id"))
_CURRENT_DIRECT = Direct(_CURRENT)  # every read by id
_HISTORY = Kept()  # history statements decided in SQL alone, per shape and access clauses


@functools.lru_cache(maxsize=128)
def _current_where(clause) -> Direct:
    """`_CURRENT` under an access clause, built once per clause: carers' clauses are kept per process
    (consent_cache), and a statement built anew is cache-keyed anew, clause and all (~8 % of a
    carer's read). Small: each keeps its clause (up to ~30 KB) alive. Straight to the driver after
    `PER_CALLER` uses."""
    return Direct(_CURRENT.where(clause), compile_after=PER_CALLER)


_VERSION = Direct(select(resource_history).where(resource_history.c.res_type == bindparam("k_type"),
                                                 resource_history.c.res_id == bindparam("k_id"),
                                                 resource_history.c.version == bindparam("k_version")))
_INSERT_RESOURCE = insert(resources).returning(resources.c.rid)
_UPDATE_RESOURCE = update(resources).where(resources.c.rid == bindparam("k_rid"),
                                           resources.c.version == bindparam("k_version"))
_INSERT_HISTORY = insert(resource_history).returning(resource_history.c.seq)
# On PostgreSQL the history insert also answers whether anyone subscribes to the written type, so a
# write costs no extra round trip; SQLite runs a subquery in RETURNING slowly (~80 µs against ~10 µs
# for a query of its own), so there it is asked separately (gateway.subscriptions.matching).
_INSERT_HISTORY_ASKING = insert(resource_history).returning(resource_history.c.seq, subscribed("k_watched"))
_INSERT_COMPARTMENT = insert(history_compartment)
_INSERT_INDEX = {kind: insert(table) for kind, table in INDEX_TABLES.items()}
# What a write runs that reads no index or compartment row: held rows need not go in before these.
_BLIND = frozenset(map(id, (_CURRENT, _INSERT_RESOURCE, _UPDATE_RESOURCE, _INSERT_HISTORY, _INSERT_HISTORY_ASKING,
                            _INSERT_COMPARTMENT, *_INSERT_INDEX.values())))
_DELETE_INDEX = [Direct(delete(table).where(table.c.rid == bindparam("k_rid"))) for table in INDEX_TABLES.values()]
# Bump when what index rows hold changes (search parameters, consent facts, the date rule), so
# `samenzorg db upgrade` rebuilds them: 2 = dates as Amsterdam days, Consent provision-actor.
INDEX_RULES = "2"


@functools.lru_cache(maxsize=64)  # a few statements, each with the one set of columns its rows hold
def _writing(statement, columns: tuple[str, ...]) -> Direct:
    """A write of `_BLIND` straight to the driver, for rows that give these columns, also while a
    transaction holds index rows back. Through `Connection.execute`, SQLAlchemy's work per
    execution was most of what these statements cost, all of it inside SQLite's one write lock
    (bench/results/2026-12-02-round12-summary.md)."""
    assert id(statement) in _BLIND
    return Direct(statement, list(columns), blind=True)


@dataclass(frozen=True)
class Stored:
    res_type: str
    res_id: str
    version: int
    last_updated: datetime
    deleted: bool
    body: bytes | None

    @property
    def reference(self) -> str:
        return f"{self.res_type}/{self.res_id}"


@dataclass(frozen=True)
class HistoryRow:
    seq: int
    stored: Stored
    method: str


def _content(resource: dict) -> dict:
    """The resource without what the server sets, to tell a real change from a no-op."""
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in SERVER_META}
    out = {k: v for k, v in resource.items() if k != "meta"}
    if meta:
        out["meta"] = meta
    return out


def _records_refusal(method):
    """A refusal (403) raised inside the repository is recorded against the caller's own client."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Forbidden as error:
            if not getattr(error, "recorded", False):
                error.recorded = True
                self._refusal(error.diagnostics)
            raise
    return run


class Repository:
    def __init__(self, conn, access: Access | None = None, consent_cache: ConsentCache | None = None):
        self.access = access or Access.open()
        self.policy = Policy(conn, self.access, cache=consent_cache)
        self.conn = self.policy.conn  # for a carer, one that binds their access values (access_binds)
        self.audits: list[audit.Disclosure] = []
        # The FHIR interaction being served (from the route table; per entry in a bundle).
        self.interaction: str | None = None
        # The write-back outbox (gateway.outbox.WriteBack) when sources are configured: a write owed
        # to a source records its outbox row in the same transaction as the write itself.
        self.write_back = None
        # Subscriptions (gateway.subscriptions): the FHIR base notifications name resources by, and
        # whether plain-http endpoints beyond loopback are allowed (SAMENZORG_SUBSCRIPTION_ALLOW_HTTP).
        self.base_url = ""
        self.allow_http_endpoints = False
        self._subscribed = False  # whether a live Subscription watches the type last written
        self._held: dict | None = None  # insert statement -> rows, while `holding_rows`

    # -- the one access clause ----------------------------------------------------
    def clause(self, res_type: str):
        """What the caller may see of `res_type` now, as a clause over `resources` (None: all).

        Every read path uses it: read, history, search, includes, counts, chains, conditional
        matches and $access-preview. Scopes narrow it; the policy (role, compartment, consent)
        decides it. Earlier versions are judged by the same rule per version (`_version_visible`).
        """
        if not self.access.allows(SEARCH, res_type) and not self.access.allows(READ, res_type):
            return false()
        return self.policy.restrict(res_type)

    def _version_visible(self, row) -> bool:
        """Whether the caller may see this stored version, judged on its own content; a delete
        is judged by the version it deleted."""
        if row.res_type == "Subscription":  # its owner's only, whoever asks (system clients too)
            return self._current(row.res_type, row.res_id) is not None
        if self.policy.unrestricted:
            return True
        if row.res_type in DIRECTORY:  # in a record through what points at it now
            return self._current(row.res_type, row.res_id) is not None
        body = row.body if row.body is not None else self._version_body(row.res_type, row.res_id, row.version - 1)
        if body is None:
            return False
        referrers_ = referrers(self.conn, row.res_type, row.res_id) if self.policy.needs_referrers else None
        return self.policy.sees_version(row.res_type, row.res_id, body, referrers_)

    def _version_body(self, res_type: str, res_id: str, version: int) -> bytes | None:
        h = resource_history
        return self.conn.execute(select(h.c.body).where(h.c.res_type == res_type, h.c.res_id == res_id,
                                                        h.c.version == version)).scalar()

    # -- reads ---------------------------------------------------------------
    def _current(self, res_type: str, res_id: str, *, for_update: bool = False, restricted: bool = True):
        clause = self.clause(res_type) if restricted else None
        params = {"k_type": res_type, "k_id": res_id}
        if for_update and self.conn.dialect.name != "sqlite":
            q = _CURRENT if clause is None else _CURRENT.where(clause)
            return self.conn.execute(q.with_for_update(), params).first()
        if clause is None:
            return _CURRENT_DIRECT.first(self.conn, params)
        if self.access.role == "related-person":  # a clause kept across requests (consent_cache)
            return _current_where(clause).first(self.conn, params)
        # Built for this request: keeping it would only push carers' statements out.
        return self.conn.execute(_CURRENT.where(clause), params).first()

    def _not_found(self, message: str) -> NotFound:
        """A hidden id and a missing one do the same work and give the same answer: an audited
        caller's failed read is recorded (naming neither the id nor whose record it might be)."""
        self._refusal("not found, or not permitted for this caller")
        return NotFound(message)

    @_records_refusal
    def read(self, res_type: str, res_id: str) -> Stored:
        self.access.require(READ, res_type)
        row = self._current(res_type, res_id)
        if row is None:
            raise self._not_found(f"{res_type}/{res_id} is not known.")
        stored = _stored(row)
        if stored.deleted:
            raise Gone(f"{res_type}/{res_id} was deleted.",
                       headers={"ETag": f'W/"{stored.version}"'})
        self._disclosed("read", [stored])
        return stored

    @_records_refusal
    def vread(self, res_type: str, res_id: str, version: int) -> Stored:
        self.access.require(READ, res_type)
        row = _VERSION.first(self.conn, {"k_type": res_type, "k_id": res_id, "k_version": version})
        if row is None or not self._version_visible(row):
            raise self._not_found(f"{res_type}/{res_id} has no version {version} here.")
        stored = _stored_history(row)
        if stored.deleted:
            raise Gone(f"Version {version} of {res_type}/{res_id} is a deletion.")
        self._disclosed("vread", [stored])
        return stored

    @_records_refusal
    def history(self, res_type: str | None, res_id: str | None, *, since: datetime | None,
                before_seq: int | None, count: int) -> list[HistoryRow]:
        """Newest first, each version judged on its own. `before_seq` is the paging cursor,
        stable under concurrent writes."""
        if res_type is not None:
            self.access.require(READ, res_type)
        types = tuple([res_type] if res_type is not None else [t for t in SERVED_TYPES if self.access.allows(READ, t)])
        values = {k: v for k, v in (("h_id", res_id), ("h_since", since), ("h_before", before_seq)) if v is not None}
        if self.policy.unrestricted:
            # Decided in SQL alone: the statement is kept per shape and access clauses, run with
            # the values (as a search's is, search/prepared.py).
            clauses = tuple(self.clause(t) for t in types)

            def build(compile_after: int) -> Direct:
                clause_of = dict(zip(types, clauses)).get
                return Direct(self._history_query(types, values, clause_of).limit(count), compile_after=compile_after)
            stmt = _HISTORY.get((types, tuple(values), count), clauses, build)
            rows = [HistoryRow(r.seq, _stored_history(r), r.method) for r in stmt.all(self.conn, values)]
        else:
            rows = self._visible_versions(types, values, count)
        if res_id is not None and not rows and not self._visible_versions(types, {"h_id": res_id}, 1):
            raise self._not_found(f"{res_type}/{res_id} is not known.")
        interaction = "history-instance" if res_id else "history-type" if res_type else "history-system"
        self._disclosed(interaction, [r.stored for r in rows])
        return rows

    def _history_query(self, types: tuple, values: dict, clause_of=None):
        """Versions of `types` the caller may see as far as SQL decides, newest first, narrowed by
        those of `values` given (h_id, h_since, h_before), as parameters named so."""
        h = resource_history
        q = select(h).where(or_(false(), *(self._history_clause(t, clause_of or self.clause) for t in types)))
        if "h_id" in values:
            q = q.where(h.c.res_id == bindparam("h_id"))
        if "h_since" in values:
            q = q.where(h.c.last_updated >= bindparam("h_since"))
        if "h_before" in values:
            q = q.where(h.c.seq < bindparam("h_before"))
        return q.order_by(h.c.seq.desc())

    def _history_clause(self, res_type: str, clause_of):
        """Versions of `res_type` the caller may see, as far as SQL decides: by each version's own
        compartment (directory entries: by the current record, `clause_of(type)`). Carers' consent
        is judged after. A carer's client and own id are the parameters h_patient and h_own."""
        h = resource_history
        policy = self.policy
        if res_type in DIRECTORY or res_type == "Subscription" or policy.unrestricted:
            clause = clause_of(res_type)
            if clause is None:
                return h.c.res_type == res_type
            return and_(h.c.res_type == res_type, h.c.res_id.in_(
                select(resources.c.res_id).where(resources.c.res_type == res_type, clause)))
        hc = history_compartment
        carer = policy.carer_patient and not policy.patients
        in_compartment = hc.c.patient_id == bindparam("h_patient") if carer else hc.c.patient_id.in_(policy.patients)
        part = and_(h.c.res_type == res_type, h.c.seq.in_(select(hc.c.seq).where(in_compartment)))
        if res_type == "RelatedPerson" and carer:  # one's own record
            part = or_(part, and_(h.c.res_type == res_type, h.c.res_id == bindparam("h_own")))
        return part

    def _visible_versions(self, types: tuple, values: dict, count: int) -> list[HistoryRow]:
        """Up to `count` versions (newest first) the caller may see. Only a carer's need a verdict
        beyond the history's own rows: a version that is still its resource's current one gets the
        resource's access clause, in the same statement (`_carer_history`); an earlier version or a
        delete is judged on its own content (`_version_visible`)."""
        if not self.policy.carer_patient or self.policy.patients:
            q = self._history_query(types, values).params(values).limit(count)
            return [HistoryRow(r.seq, _stored_history(r), r.method) for r in self.conn.execute(q)]
        out: list[HistoryRow] = []
        batch = max(2 * count, 50)
        given = {**values, "h_patient": self.policy.carer_patient_id, "h_own": self.access.user_id}
        while len(out) < count:
            stmt = self._carer_history(types, tuple(sorted(given)), batch)
            rows = stmt.all(self.conn, given)
            out += [HistoryRow(r.seq, _stored_history(r), r.method) for r in rows
                    if (r.current_shown if r.current_judged else self._version_visible(r))]
            if len(rows) < batch:
                break
            given["h_before"] = rows[-1].seq
        return out[:count]

    def _carer_history(self, types: tuple, names: tuple, batch: int) -> Direct:
        """A carer's history statement: the versions in their client's compartment, each with
        whether it is its resource's current content (`current_judged`; not for directory entries
        and Subscriptions, which `_version_visible` judges by their current record) and, if so,
        whether the resource's access clause shows it (`current_shown`). The same clause
        `sees_version` agrees with on current versions (tests/gateway/test_consent_property.py),
        so those need no judging in Python. Kept per shape when the carer's clauses are shared."""
        judged = [t for t in types if t not in DIRECTORY and t != "Subscription"]
        clauses = tuple(self.clause(t) for t in types)  # all of them go into the statement

        def build(compile_after: int) -> Direct:
            # The batch first, then its rows judged: not every version of the client's record that
            # the database may sort before it takes the batch.
            page = self._history_query(types, dict.fromkeys(names)).limit(batch).subquery("page")
            r = resources
            current = [r.c.res_type == page.c.res_type, r.c.res_id == page.c.res_id, r.c.version == page.c.version,
                       r.c.deleted.is_(False), page.c.res_type.in_(judged)]
            shown = or_(false(), *(and_(r.c.res_type == t, true() if c is None else c)
                                   for t, c in zip(types, clauses) if t in judged))
            q = select(page, exists().where(*current).label("current_judged"),
                       exists().where(*current, shown).label("current_shown")).order_by(page.c.seq.desc())
            return Direct(q, compile_after=compile_after)
        if not self.policy.shares_clauses:  # built for this request: through SQLAlchemy's own cache
            return build(PER_CALLER)
        return _HISTORY.get(("carer", types, names, batch), clauses, build)

    @_records_refusal
    def match(self, res_type: str, params: list[tuple[str, str]], limit: int = 2) -> list[str]:
        self.access.require(SEARCH, res_type)
        return match(self.conn, res_type, params, restrict=self.clause, limit=limit)

    def match_many(self, res_type: str, queries: list[list[tuple[str, str]]], limit: int = 2) -> dict[int, list[str]]:
        """`match` for many criteria at once, for those of the one shape it batches (identifiers);
        nothing when the caller may not search the type (each `match` then refuses in its turn)."""
        if not self.access.allows(SEARCH, res_type):
            return {}
        return match_many(self.conn, res_type, queries, restrict=self.clause, limit=limit)

    @_records_refusal
    def search(self, res_type: str | None, params: list[tuple[str, str]], **kwargs) -> bytes:
        if res_type is not None:
            self.access.require(SEARCH, res_type)
        body, shown = search_bundle(self.conn, res_type=res_type, params=params, restrict=self.clause, **kwargs)
        if self.policy.audited:
            self._audit("search-type" if res_type else "search-system",
                        [(f"{r.res_type}/{r.res_id}", r.body) for r in shown],
                        query="&".join(f"{k}={v}" for k, v in params))
        return body

    @_records_refusal
    def everything(self, q: Everything, *, cursor: Cursor | None, base_url: str, page_key: bytes) -> bytes:
        """One page of Patient/{id}/$everything: the client's record as far as the caller may see
        it, by the same access clause as search, in SQL; audited like a search."""
        self.access.require(READ, "Patient")
        pid = q.patient_id
        current = self._current("Patient", pid)
        if current is None and self.policy.carer_patient == f"Patient/{pid}":
            # A carer knows the client whose network they are in, even when the Consent does not
            # show the Patient resource itself: they get what it does show (maybe nothing).
            current = self._current("Patient", pid, restricted=False)
        if current is None:
            raise self._not_found(f"Patient/{pid} is not known.")
        if current.deleted:
            raise Gone(f"Patient/{pid} was deleted.", headers={"ETag": f'W/"{current.version}"'})
        body, rows = everything_bundle(self.conn, q, cursor=cursor, base_url=base_url, page_key=page_key,
                                       restrict=self.clause, record=in_record, confined=self.policy.confines_to(pid),
                                       shared_clauses=self.policy.shares_clauses)
        if self.policy.audited:
            # The whole answer is this client's record (directory entries shown as part of it).
            self._audit("operation", [(f"{r.res_type}/{r.res_id}", r.body) for r in rows],
                        query="&".join(f"{k}={v}" for k, v in q.applied), patients=[f"Patient/{pid}"])
        return body

    def preview(self, res_type: str, limit: int) -> tuple[int, list[str]]:
        """How many resources of a type the caller may see, and the first `limit` ids (for
        $access-preview: what a carer would see, from the same clause). Not audited here."""
        where = [resources.c.res_type == res_type, resources.c.deleted.is_(False)]
        clause = self.clause(res_type)
        if clause is not None:
            where.append(clause)
        count = self.conn.execute(select(func.count()).select_from(resources).where(*where)).scalar_one()
        ids = list(self.conn.execute(select(resources.c.res_id).where(*where)
                                     .order_by(resources.c.rid).limit(limit)).scalars()) if count else []
        return count, ids

    # -- writes --------------------------------------------------------------
    @_records_refusal
    def create(self, resource: dict, res_id: str | None = None) -> Stored:
        """Create with a new server id (or one a transaction assigned beforehand)."""
        res_type = resource["resourceType"]
        self.access.require(CREATE, res_type)
        resource = {**resource, "id": res_id or str(uuid.uuid4())}
        channel = None
        if res_type == "Subscription":
            resource, channel = lifecycle.before_write(self, resource, None)
        self.policy.check_write(res_type, resource, None)
        stored = self._write(res_type, resource["id"], resource, "POST", None)
        if channel is not None:
            lifecycle.after_write(self, stored, resource, channel)
        self._owe(stored, "create", resource)
        self._disclosed("create", [stored])
        return stored

    @_records_refusal
    def update(self, res_type: str, res_id: str, resource: dict, *,
               if_match: int | None = None, method: str = "PUT", new_id: bool = False) -> tuple[Stored, str]:
        """Update, or create with the client's id when unknown (`new_id`: a transaction chose the
        id just now, so nothing has it and there is nothing to read).

        Returns (stored, change) with change "created", "updated" or
        "unchanged" (same content as stored: no new version, as HAPI does).
        `method` is what history records for the new version (PUT, or PATCH).
        """
        # Read first without a row lock: a PUT that changes nothing (a record system re-sending what it
        # sent before, every imported network naming the same Organizations) must not queue behind the
        # other writers of that row for the rest of their transactions. A real change then locks the
        # row; when another writer changed it in between, it is decided again on what that writer left.
        current = None if new_id else self._current(res_type, res_id, restricted=False)
        locked = current is None or self.conn.dialect.name == "sqlite"
        given = resource
        while True:
            resource, channel = self._check_update(res_type, res_id, given, current, if_match)
            if current is not None and not current.deleted and current.body is not None:
                if _content(orjson.loads(current.body)) == _content(resource):
                    return _stored(current), "unchanged"
            if locked:
                break
            latest, locked = self._current(res_type, res_id, for_update=True, restricted=False), True
            if latest.version == current.version:
                break
            current = latest
        change = "created" if current is None or current.deleted else "updated"
        stored = self._write(res_type, res_id, resource, method, current)
        if channel is not None:
            lifecycle.after_write(self, stored, resource, channel)
        self._owe(stored, "create" if change == "created" else "update", resource)
        self._disclosed("create" if change == "created" else "update", [stored])
        return stored, change

    def _check_update(self, res_type: str, res_id: str, resource: dict, current,
                      if_match: int | None) -> tuple[dict, object]:
        """Refuse an update the caller may not make to `current` (the row as read); the resource to
        write (with its id) and the Subscription channel to start, if any."""
        if not self.policy.unrestricted:
            # A person's PUT updates what they may see; only record systems create with an id of
            # their choosing. So a hidden id and a missing (or deleted) one give the same 404.
            self.access.require(UPDATE, res_type)
            visible = self._current(res_type, res_id) is not None
            if not visible or current is None or current.deleted:
                raise self._not_found(f"{res_type}/{res_id} is not known; create it with POST.")
        self.access.require(CREATE if current is None or current.deleted else UPDATE, res_type)
        channel = None
        if res_type == "Subscription":
            live = current is not None and not current.deleted
            resource, channel = lifecycle.before_write(self, {**resource, "id": res_id},
                                                       _body(current) if live else None)
        self.policy.check_write(res_type, {**resource, "id": res_id}, _body(current))
        if if_match is not None:
            if current is None or current.deleted:
                raise PreconditionFailed(f"If-Match given, but {res_type}/{res_id} does not exist.")
            if current.version != if_match:
                raise PreconditionFailed(
                    f"{res_type}/{res_id} is at version {current.version}, not {if_match}.")
        return {**resource, "id": res_id}, channel

    @_records_refusal
    def delete(self, res_type: str, res_id: str) -> Stored | None:
        """Delete; None when already deleted (no new version). NotFound when never known."""
        self.access.require(DELETE, res_type)
        current = self._current(res_type, res_id, for_update=True, restricted=False)
        if current is None or (not self.policy.unrestricted and not current.deleted
                               and self._current(res_type, res_id) is None):
            raise self._not_found(f"{res_type}/{res_id} is not known.")
        self.policy.check_write(res_type, None, _body(current))
        if current.deleted:
            return None
        if res_type == "Subscription":
            lifecycle.before_delete(self, res_id)
        stored = self._write(res_type, res_id, None, "DELETE", current)
        if res_type == "Subscription":
            lifecycle.after_delete(self, res_id)
        self._owe(stored, "delete", _body(current))
        self._disclosed("delete", [stored])
        return stored

    def _owe(self, stored: Stored, action: str, body: dict | None) -> None:
        if self.write_back is not None:
            self.write_back.owe(self, stored.res_type, stored.res_id, stored.version, action, body)
        if self._subscribed:
            notify(self, stored.res_type, stored.res_id, stored.version, action, body)

    def can_see(self, stored: Stored) -> bool:
        """Whether the caller may read this resource now (e.g. the one they just wrote)."""
        return self.policy.unrestricted or self._current(stored.res_type, stored.res_id) is not None

    @_records_refusal
    def require(self, permission: str, res_type: str) -> None:
        """The token's scopes must grant this (for operations); a refusal is recorded."""
        self.access.require(permission, res_type)

    def refuse(self, message: str) -> Forbidden:
        """A refusal decided outside the repository's own methods (an operation's rule); recorded
        like every other. Use as `raise repo.refuse(...)`."""
        error = Forbidden(message)
        error.recorded = True
        self._refusal(message)
        return error

    # -- audit -----------------------------------------------------------------
    def _disclosed(self, interaction: str, stored: list[Stored]) -> None:
        if self.policy.audited:
            self._audit(interaction, [(s.reference, s.body) for s in stored])  # bodies parsed if needed

    def disclosed_for(self, interaction: str, refs: list[str], patient: str) -> None:
        """Record what an operation showed of one client's record (e.g. $access-preview)."""
        self._audit(interaction, [(ref, None) for ref in refs], patients=[patient])

    def _refusal(self, detail: str) -> None:
        """Record a refused or failed request by an audited caller against their own client only:
        never the requested id, nor another client's patient or Consents."""
        own = self.policy.own_client
        self._audit(self.interaction or "operation", [], outcome=audit.REFUSED, detail=detail,
                    patients=[own] if own else [])

    def _audit(self, interaction: str, found: list[tuple[str, bytes | dict | None]], *, outcome: str = audit.SUCCESS,
               query: str | None = None, detail: str | None = None, patients: list[str] | None = None) -> None:
        """Queue an AuditEvent naming what was shown (or refused) and whose record it is."""
        if not self.policy.audited:
            return
        if patients is None and not self.policy.carer_patient:
            # A practitioner may see several clients' records in one request: one event per client,
            # naming only what is in that client's record (a client's carers may read it), and one
            # naming no client for the rest (directory entries).
            groups: dict[str | None, list] = {} if found else {None: []}
            for ref, body in found:
                groups.setdefault(patient_of(body) if body else None, []).append((ref, body))
            for patient, part in sorted(groups.items(), key=lambda g: g[0] or ""):
                self._audit(interaction, part, outcome=outcome, query=query, detail=detail,
                            patients=[patient] if patient else [])
            return
        if patients is None:
            patients = [self.policy.carer_patient]
        consents = self._deciding_consents(found) if patients else []
        self.audits.append(audit.Disclosure(self.interaction or interaction, outcome, patients,
                                            [ref for ref, _ in found], consents, query, detail))

    def _deciding_consents(self, found: list[tuple[str, bytes | dict | None]]) -> list[str]:
        """The Consent that decided one resource's disclosure; for several, every active one in play."""
        one = found[0][1] if len(found) == 1 else None
        if one is not None and self.policy.carer_patient:
            decided = (self.policy.deciding_consent(found[0][0], orjson.loads(one)) if isinstance(one, bytes)
                       else self.policy.decide(one).consent)  # a stored version's is kept with the carer's state
            if decided:
                return [decided]
        return self.policy.active_consents

    def discard_disclosures(self, since: int = 0) -> None:
        """A rolled-back step disclosed nothing (its answer is an error): drop the disclosures queued
        since `since`, keep its refusals."""
        self.audits[since:] = [a for a in self.audits[since:] if a.outcome != audit.SUCCESS]

    def flush_audits(self, into=None) -> None:
        """Append the pending audit records in the current transaction of this repository's connection,
        or of `into` (another request's connection committing several requests' records at once)."""
        pending, self.audits = self.audits, []
        audit_store.append(self.conn if into is None else into, self.access.fhir_user, self.access.client_id, pending)

    @contextmanager
    def holding_rows(self):
        """Within: the compartment and index rows of each write are held back, then inserted with
        one statement per table (a transaction Bundle's writes: ~40 % fewer statements). They go in
        before any other statement runs on this connection, so no read, search, match or
        subscription check can miss them, and at the end."""
        self._held = {}
        event.listen(unbound(self.conn), "before_execute", self._release_before)
        try:
            yield
            self._release()
        finally:
            event.remove(unbound(self.conn), "before_execute", self._release_before)
            self._held = None

    def _release_before(self, conn, statement, *args) -> None:
        if self._held and id(statement) not in _BLIND:
            self._release()

    def _release(self) -> None:
        held, self._held = self._held, {}
        for statement, rows in held.items():
            _writing(statement, tuple(rows[0])).execute_many(self.conn, rows)

    def _insert_rows(self, statement, rows: list[dict]) -> None:
        if self._held is None:
            _writing(statement, tuple(rows[0])).execute_many(self.conn, rows)
        else:
            self._held.setdefault(statement, []).extend(rows)

    def _write(self, res_type: str, res_id: str, resource: dict | None, method: str, current) -> Stored:
        if res_type not in SERVED:
            raise BadRequest(f"Resource type '{res_type}' is not served here.")
        now = fhirtime.now()
        version = 1 if current is None else current.version + 1
        body = None
        if resource is not None:
            meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in SERVER_META}
            meta = {"versionId": str(version), "lastUpdated": fhirtime.instant(now), **meta}
            # id and meta first: what a reader scans for.
            resource = {"resourceType": res_type, "id": res_id, "meta": meta,
                        **{k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")}}
            body = orjson.dumps(resource)
        values = dict(version=version, last_updated=now, deleted=resource is None, body=body)
        try:
            if current is None:
                row = {"res_type": res_type, "res_id": res_id, **values}
                rid = _writing(_INSERT_RESOURCE, tuple(row)).first(self.conn, row)[0]
            else:
                rid = current.rid
                matched = _writing(_UPDATE_RESOURCE, tuple(values)).execute(
                    self.conn, {"k_rid": rid, "k_version": current.version, **values})
                if matched != 1:
                    raise Conflict(f"{res_type}/{res_id} was changed concurrently; retry.")
            history = {"res_type": res_type, "res_id": res_id, "method": method,
                       **{k: values[k] for k in ("version", "last_updated", "body")}}
            if self.conn.dialect.name == "sqlite":
                seq = _writing(_INSERT_HISTORY, tuple(history)).first(self.conn, history)[0]
                self._subscribed = anyone_subscribed(self.conn, res_type)
            else:
                seq, self._subscribed = _writing(_INSERT_HISTORY_ASKING, tuple(history)).first(
                    self.conn, {**history, "k_watched": res_type})
        except IntegrityError:
            raise Conflict(f"{res_type}/{res_id} was written concurrently; retry.") from None
        rows = index_rows(resource) if resource is not None else None
        if res_type in COMPARTMENT_TYPES:
            # A delete stays in the compartment of the version it deleted.
            patients = (compartment_of(resource, rows["reference"]) if resource is not None
                        else compartment_of(_body(current)) if current is not None and current.body else ())
            if patients:
                self._insert_rows(_INSERT_COMPARTMENT, [{"seq": seq, "patient_id": p} for p in patients])
        self._reindex(rid, res_type, resource, fresh=current is None, rows=rows)
        return Stored(res_type, res_id, version, now, resource is None, body)

    def reindex(self, res_type: str | None = None, *, after_rid: int = 0, batch: int = 500) -> tuple[int, int]:
        """Rebuild the index rows of one batch of current resources after `after_rid`.

        For when search parameters or consent facts change (`samenzorg reindex`).
        Returns (resources done, last rid); (0, after_rid) when none are left.
        """
        q = (select(resources.c.rid, resources.c.res_type, resources.c.body)
             .where(resources.c.rid > after_rid, resources.c.deleted.is_(False))
             .order_by(resources.c.rid).limit(batch))
        if res_type is not None:
            q = q.where(resources.c.res_type == res_type)
        rows = self.conn.execute(q).all()
        for rid, rtype, body in rows:
            self._reindex(rid, rtype, orjson.loads(body))
        return len(rows), rows[-1].rid if rows else after_rid

    def _reindex(self, rid: int, res_type: str, resource: dict | None, *, fresh: bool = False,
                 rows: dict[str, list[dict]] | None = None) -> None:
        if not fresh:  # a resource created just now has no rows to replace
            for statement in _DELETE_INDEX:
                statement.execute(self.conn, {"k_rid": rid})
        if resource is None:
            return
        facts = fact_rows(resource)
        for kind, found in (rows if rows is not None else index_rows(resource)).items():
            found = found + facts.get(kind, [])
            if found:
                self._insert_rows(_INSERT_INDEX[kind], [{**r, "rid": rid, "res_type": res_type} for r in found])


def _body(row) -> dict | None:
    return orjson.loads(row.body) if row is not None and row.body is not None else None


def _stored(row) -> Stored:
    return Stored(row.res_type, row.res_id, row.version, row.last_updated, row.deleted, row.body)


def _stored_history(row) -> Stored:
    return Stored(row.res_type, row.res_id, row.version, row.last_updated, row.body is None, row.body)


def refresh_index(engine, batch: int = 500) -> int:
    """Rebuild every resource's index rows when they were written under other INDEX_RULES (a
    transaction per batch); returns how many were rebuilt."""
    with engine.begin() as conn:
        stored = conn.execute(select(server_state.c.value).where(server_state.c.key == "index_rules")).scalar()
    if stored == INDEX_RULES:
        return 0
    total, after = 0, 0
    while True:
        with engine.connect().execution_options(write=True) as conn, conn.begin():
            done, after = Repository(conn).reindex(after_rid=after, batch=batch)
        total += done
        if not done:
            break
    with engine.begin() as conn:
        conn.execute(delete(server_state).where(server_state.c.key == "index_rules"))
        conn.execute(insert(server_state).values(key="index_rules", value=INDEX_RULES))
    return total
