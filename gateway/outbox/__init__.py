"""The write-back outbox: what families and clients write, owed to the source that owns the client.

`enqueue` decides, inside the writing transaction, whether a write is owed to a source and records
it; `delivery` claims due items (leases; FOR UPDATE SKIP LOCKED on PostgreSQL), pushes them through
`connectors.push`, and marks them delivered, to retry (back-off with jitter, Retry-After) or dead;
`admin` lists, retries and drops items for the `samenzorg outbox` command.
"""
from .enqueue import WriteBack

__all__ = ["WriteBack"]
