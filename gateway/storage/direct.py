"""The few statements every request runs, sent straight to the driver, compiled once per dialect.

SQLAlchemy's work per execution (cache key, execution context, result wrapping) cost more than
these statements themselves: a carer's Consent stamp took ~147 µs through `Connection.execute`
and 20-34 µs straight to sqlite3 on the same connection, with the same SQL. A `Direct`
statement is still compiled by SQLAlchemy (once per dialect: the same SQL, the same parameter
style), its values pass through the column types' own bind and result processors, and it runs
in the connection's transaction, begun first when there is none, as `Connection.execute` would.

Whenever anything listens to statements on the connection (`Repository.holding_rows` releasing
held rows, tests recording statements), it goes through `Connection.execute` instead, so no
listener misses it. A `blind` statement (a write that reads no row a transaction may be holding
back) passes the statement listeners (`before_execute`) and steps aside only for recorders of
driver SQL (`before_cursor_execute`).

IN lists built into a statement are expanded once, when it is compiled; a statement whose SQL
changes with the values given (an IN list given at execution) always goes through
`Connection.execute`.
"""
from __future__ import annotations

from collections import namedtuple
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError


class _Compiled:
    def __init__(self, stmt, dialect, column_keys):
        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        given = {name for name, b in compiled.binds.items() if b.required}  # at each execution
        if compiled.literal_execute_params or any(compiled.binds[n].expanding for n in given):
            raise ValueError("a Direct statement's SQL must not change with the values it is given")
        # IN lists built into the statement (a carer's access clause has them) are expanded here,
        # once: their values are part of the statement.
        state = compiled.construct_expanded_state({name: None for name in given})
        self.sql = state.statement
        self.names = state.positiontup if dialect.positional else None
        processors = {name: p for name, b in compiled.binds.items()
                      if (p := b.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        processors.update(state.processors)
        self.defaults = {name: processors[name](v) if name in processors else v
                         for name, v in state.parameters.items() if name not in given}
        self.binds = {name: p for name, p in processors.items() if name in given}
        self.given = frozenset(given)
        columns = list(stmt.exported_columns)  # a SELECT's columns, an INSERT's RETURNING
        self.results = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None

    def args(self, params: dict):
        values = {**self.defaults, **params}
        for name, process in self.binds.items():
            values[name] = process(values[name])
        if self.names is not None:
            return tuple(values[n] for n in self.names)  # a value not given: KeyError
        if not self.given <= values.keys():  # as the positional form does, not the driver's own error
            raise KeyError(", ".join(sorted(self.given - values.keys())))
        return values

    def rows(self, raw: list) -> list:
        if any(self.results):
            raw = [[v if p is None else p(v) for p, v in zip(self.results, r)] for r in raw]
        return [self.row._make(r) for r in raw]


# Executions through `Connection.execute` before a statement made per caller (holding a carer's
# access clause) goes direct. Compiling it for the driver took ~1.5 ms, more than one direct
# execution saves, while SQLAlchemy's own cache compiles once per clause *shape*, for every
# carer alike; and most carers make a few requests of each kind to a worker, then leave.
PER_CALLER = 4


class Direct:
    """A statement built once, run straight through the driver (see the module's docstring)."""

    def __init__(self, stmt, column_keys: list[str] | None = None, *, compile_after: int = 0,
                 blind: bool = False):
        """`compile_after`: executions through `Connection.execute` first (`PER_CALLER` for a
        statement made per caller). `blind`: see the module's docstring."""
        self.stmt, self.column_keys, self._uses_left, self.blind = stmt, column_keys, compile_after, blind
        self._by_dialect: dict[str, _Compiled | None] = {}

    def _compiled(self, conn) -> _Compiled | None:
        """None: through `Connection.execute` this time (a listener, not yet used enough) or
        always (an IN list given at execution)."""
        if conn.dispatch.before_cursor_execute or (conn.dispatch.before_execute and not self.blind):
            return None
        if self._uses_left > 0:
            self._uses_left -= 1
            return None
        dialect = conn.dialect
        if dialect.name not in self._by_dialect:
            try:
                self._by_dialect[dialect.name] = _Compiled(self.stmt, dialect, self.column_keys)
            except ValueError:
                self._by_dialect[dialect.name] = None
        return self._by_dialect[dialect.name]

    @contextmanager
    def _cursor(self, conn, sql: str, args):
        """The driver's cursor in the connection's transaction; a driver error is raised as
        SQLAlchemy raises it through `Connection.execute` (an `IntegrityError` stays one)."""
        if not conn.in_transaction():
            conn.begin()
        dbapi = conn.dialect.loaded_dbapi
        cur = conn.connection.driver_connection.cursor()
        try:
            yield cur
        except dbapi.Error as error:
            raise DBAPIError.instance(sql, args, error, dbapi.Error, hide_parameters=True,
                                     dialect=conn.dialect) from error
        finally:
            cur.close()

    def all(self, conn, params: dict) -> list:
        """The rows, with attributes named as the statement's columns. On a connection that binds a
        carer's access values (access_binds.Bound), with those values (a statement without their
        parameters ignores them)."""
        values = getattr(conn, "access_values", None)
        if values:
            params = {**params, **values}
        compiled = self._compiled(conn)
        if compiled is None:
            return conn.execute(self.stmt, params).all()
        args = compiled.args(params)
        with self._cursor(conn, compiled.sql, args) as cur:
            cur.execute(compiled.sql, args)
            return compiled.rows(cur.fetchall())

    def first(self, conn, params: dict):
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def execute(self, conn, params: dict) -> int:
        """Run a statement that returns no rows (UPDATE, DELETE); how many rows it matched."""
        compiled = self._compiled(conn)
        if compiled is None:
            return conn.execute(self.stmt, params).rowcount
        args = compiled.args(params)
        with self._cursor(conn, compiled.sql, args) as cur:
            cur.execute(compiled.sql, args)
            return cur.rowcount

    def execute_many(self, conn, params: list[dict]) -> None:
        """One execution per parameter set, in one driver call (an INSERT of several rows)."""
        compiled = self._compiled(conn)
        if compiled is None:
            conn.execute(self.stmt, params)
            return
        args = [compiled.args(p) for p in params]
        with self._cursor(conn, compiled.sql, args) as cur:
            cur.executemany(compiled.sql, args)
