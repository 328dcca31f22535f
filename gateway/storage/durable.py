"""SQLite commits made durable after the write lock is given back, one fsync for all that are waiting.

With `synchronous=FULL` SQLite syncs the write-ahead log inside COMMIT, while
it still holds the database's one write lock: every writer in every worker
waited for the fsync of the writer before it (a third of a create's time).
Here SQLite commits with `synchronous=NORMAL`: COMMIT has written the
transaction's frames to the WAL file (write(2), in the page cache, visible to
every reader) and the write lock is free when it returns, but a power loss
could still lose it. The committer then calls `WalSync.wait()`, which returns
only once an fsync of the WAL file that *began after* this commit returned has
completed; one fsync serves every commit of the process that returned before
it began (group commit). So a commit is durable when `commit()` returns, as
with FULL (audit before disclosure, DESIGN.md), and the next writer works
while the disk syncs.

NORMAL keeps the database consistent on its own (SQLite syncs the WAL before
every checkpoint copies it into the database, and the database after). As
SQLite does for a WAL file it has just created, the directory is synced too
the first time a WAL file (a new inode) is synced, so the file's name is on
disk with its content.

When an fsync fails, the kernel may already have dropped the pages it could
not write, and a later fsync would report success over lost data; so, like
PostgreSQL, this process stops confirming commits: every later `wait()` fails
until the server is restarted (and SQLite recovers from what is on disk).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading


class WalSync:
    """One per SQLite database file and process, shared by its connections."""

    def __init__(self, database_path: str):
        self.wal_path = database_path + "-wal"
        self._directory = os.path.dirname(database_path) or "."
        self._cond = threading.Condition()
        self._asked = 0  # commits handed a ticket so far
        self._durable = 0  # every ticket up to this one is durable
        self._syncing = False
        self._synced_inode: int | None = None
        self._failed: OSError | None = None

    def wait(self) -> None:
        """Return once everything committed before this call is on disk; raise if that failed."""
        with self._cond:
            self._asked += 1
            mine = self._asked
            while self._durable < mine:
                self._check()
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing, covers, failed = True, self._asked, None
                self._cond.release()
                try:
                    self._fsync()
                except OSError as exc:
                    failed = exc
                finally:  # whatever happened, the next waiter may sync
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                if failed is not None:
                    self._failed = failed
                    self._check()
                self._durable = covers
            self._check()

    def _check(self) -> None:
        if self._failed is not None:
            raise sqlite3.OperationalError(
                f"disk I/O error: the write-ahead log could not be synced ({self._failed}); "
                "commits are no longer confirmed until the server restarts")

    def _fsync(self) -> None:
        try:
            fd = os.open(self.wal_path, os.O_RDONLY)
        except FileNotFoundError:
            # No WAL: the last connection checkpointed it into the database, synced, and removed it.
            return
        try:
            os.fsync(fd)
            inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        if inode != self._synced_inode:
            directory = os.open(self._directory, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
            self._synced_inode = inode


class Checkpoints:
    """WAL checkpoints in a thread of their own, not inside a writer's COMMIT.

    SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages: it
    copies the WAL into the database and syncs both while that writer still holds the database's
    one write lock, so every writer queued behind it waits too, and the request that committed
    waits for all of it (bench/results/2026-12-02-round12-summary.md). Connections here turn it
    off (`wal_autocheckpoint=0`); the commit that takes this process past `EVERY` changed rows
    starts a PASSIVE checkpoint in a short-lived thread on a connection of its own, and returns.
    Writers go on meanwhile (in WAL mode a checkpoint and a writer may work at once) and readers
    are never blocked. One checkpoint at a time per process; SQLite runs one at a time per
    database. Durability does not depend on it: every commit is in the synced WAL already.
    """

    EVERY = 1000  # rows inserted, updated or deleted; a create changes ~10, so ~1,000-2,000 WAL pages

    def __init__(self, database_path: str):
        self.database_path = database_path
        self._lock = threading.Lock()
        self._changed = 0
        self._running = False

    def after_commit(self, changed: int) -> None:
        with self._lock:
            self._changed += changed
            if self._changed < self.EVERY or self._running:
                return
            self._changed, self._running = 0, True
        threading.Thread(target=self._checkpoint, name="samenzorg-wal-checkpoint", daemon=True).start()

    def _checkpoint(self) -> None:
        try:
            conn = sqlite3.connect(self.database_path, timeout=30)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                conn.close()
        except sqlite3.Error:
            # Nothing is lost: the WAL keeps every commit, and the next commit past the mark tries again.
            logging.getLogger("samenzorg").warning("WAL checkpoint failed", exc_info=True)
        finally:
            with self._lock:
                self._running = False
