"""`samenzorg worker`: a loop of jobs — delivering the outbox, syncing sources whose schedule is due,
and settling appended audit records into AuditEvents.

Jobs are a list of (name, callable): delivering the outbox (`gateway.outbox`), turning off
Subscriptions past their end, the sync schedule (`gateway.sync.sync_due`) and the audit log
(`gateway.audit_store.settle_all`). Each
pass runs every job once; when a pass found nothing to do the worker sleeps `idle` seconds (woken early by SIGTERM/SIGINT, after
which it finishes the job it is in and stops). Any number of workers may run on PostgreSQL; on
SQLite run one.
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Callable

import orjson

from connectors.config import Config

from .config import Settings
from .outbox.delivery import Deliverer, RetryPolicy

log = logging.getLogger("samenzorg.worker")

Job = tuple[str, Callable[[], object]]


def default_jobs(settings: Settings, engine, config: Config, *, policy: RetryPolicy | None = None,
                 owner: str | None = None, batch: int = 20, concurrency: int = 4) -> list[Job]:
    deliverer = Deliverer(engine, config, policy, owner, batch=batch, concurrency=concurrency,
                          subscription_timeout=settings.subscription_timeout)
    log.info(orjson.dumps({"event": "worker.started", "worker": deliverer.owner, "lease_seconds": deliverer.lease,
                           "sources": sorted(config.sources)}).decode())
    from .sync import sync_due

    from . import audit_store
    from .subscriptions.notify import turn_off_ended

    return [("outbox", deliverer.run_once),
            ("subscriptions", lambda: turn_off_ended(engine)),  # those past their end
            ("sync", lambda: sync_due(engine, settings, config, owner=deliverer.owner)),
            # Appended audit records become AuditEvents here too, so the log a reader settles stays short.
            ("audit", lambda: audit_store.settle_all(engine, batches=1))]


def busy(result: object) -> bool:
    """Whether a job's pass did something (so the worker goes on at once instead of sleeping)."""
    if isinstance(result, (list, tuple)):
        return bool(result)
    attempted = getattr(result, "attempted", None)
    return bool(attempted) if attempted is not None else bool(result)


def run(jobs: list[Job], *, idle: float = 2.0, stop: threading.Event | None = None,
        once: bool = False) -> int:
    """Run the jobs until stopped (or, with `once`, until a pass finds nothing to do); passes run."""
    stop = stop or threading.Event()
    passes = 0
    while not stop.is_set():
        worked = False
        for name, job in jobs:
            if stop.is_set():
                break
            try:
                result = job()
            except Exception:  # one failing job (a database blip) must not end the worker
                log.exception(orjson.dumps({"event": "worker.job_failed", "job": name}).decode())
                continue
            worked = worked or busy(result)
        passes += 1
        if once and not worked:
            break
        if not worked:
            stop.wait(idle)
    return passes


def stop_on_signals(stop: threading.Event) -> None:
    def handler(signum, _frame):
        log.info(orjson.dumps({"event": "worker.stopping", "signal": signal.Signals(signum).name}).decode())
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
