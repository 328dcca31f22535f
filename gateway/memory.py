"""Giving memory back to the system (glibc only; elsewhere these do nothing).

Measured: a worker that parsed a few bodies of tens of MB held hundreds of MB
afterwards, though nothing kept the parsed data: glibc's malloc keeps freed
memory in per-thread arenas (up to 8 per core) for reuse instead of
returning it to the system, so each of a worker's threads could hold its own
peak. Capping the arenas (`limit_arenas`, in each worker before its threads
start) and trimming the heap after a request with a large body (`trim`)
returns it.

Ordinary requests leave free memory behind too, scattered between what
stays in use: four threads building a carer's `$everything` statements left
a worker ~23 MB of free heap that a trim gave back (181 -> 158 MB, in process,
300 clients). So a worker also trims once a second (`Every`), after whichever
request ends first in that second: 0.3 ms when there is little to give back,
1-3 ms after such a round.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time

LARGE_BODY = 1024 * 1024  # bytes: a body at least this large is followed by a trim
TRIM_EVERY = 1.0  # seconds: a worker trims at most this often after ordinary requests
_M_ARENA_MAX = -8  # mallopt parameter number (malloc.h)
ARENAS = 2


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # glibc has both; musl and macOS do not
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Let this process' threads share at most `arenas` malloc arenas."""
    return bool(_LIBC and _LIBC.mallopt(_M_ARENA_MAX, arenas))


def trim() -> bool:
    """Return the free memory at the top of every arena to the system."""
    return bool(_LIBC and _LIBC.malloc_trim(0))


_now = time.monotonic


class Every:
    """Says yes to one caller per `seconds` (shared by a worker's threads)."""

    def __init__(self, seconds: float = TRIM_EVERY):
        self.seconds = seconds
        self._next = _now() + seconds
        self._lock = threading.Lock()

    def due(self) -> bool:
        if _now() < self._next:
            return False
        with self._lock:
            now = _now()
            if now < self._next:
                return False
            self._next = now + self.seconds
            return True
