"""Group commit of audit records: concurrent reads in one process share one write transaction.

A read discloses only after the record of what it disclosed is committed
(audit before disclosure, DESIGN.md). Committing each read's record alone
made every carer read take the database's write lock (SQLite has one for the
whole file) and pay a commit; with the threads of a worker all reading, they
queued for that lock one by one. Here a read hands its records over and waits:
one waiting thread (the leader) writes every record handed over so far in
one transaction and commits it, then wakes the others. Each returns only once
its own records are committed, or raises when that commit failed, so the
rule holds for every request; the lock is taken once per batch instead of
once per read. The batch is bounded by the threads of the process, each of
which waits for its own records.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass


class AuditNotRecorded(RuntimeError):
    """The transaction that was to commit this request's audit records failed: disclose nothing."""


@dataclass
class _Handed:
    repo: object
    done: bool = False
    failed: BaseException | None = None


class GroupCommit:
    """One per app (process)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._queue: list[_Handed] = []
        self._writing = False

    def commit(self, conn, repo) -> None:
        """Commit `repo`'s pending audit records, with those other threads hand over meanwhile, through
        `conn` (this request's connection, outside any transaction). Returns once they are committed."""
        mine = _Handed(repo)
        with self._cond:
            self._queue.append(mine)
            while self._writing and not mine.done:
                self._cond.wait()
            if mine.done:
                if mine.failed is not None:
                    raise AuditNotRecorded("the audit record of this request was not committed") from mine.failed
                return
            self._writing = True
            batch, self._queue = self._queue, []
        failed = None
        try:
            conn.execution_options(write=True)
            if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
                # One transaction for the batch, also where the read ran without one (storage.db.connect).
                conn.execution_options(isolation_level=conn.default_isolation_level)
            with conn.begin():
                for handed in batch:
                    handed.repo.flush_audits(into=conn)
        except BaseException as exc:  # every request of the batch must learn it failed
            failed = exc
        with self._cond:
            for handed in batch:
                handed.done, handed.failed = True, failed
            self._writing = False
            self._cond.notify_all()
        if failed is not None:
            raise failed
