"""Giving memory back after a large request (glibc only; elsewhere these do nothing).

Measured: a worker that parsed a few bodies of tens of MB held hundreds of MB
afterwards, though nothing kept the parsed data: glibc's malloc keeps freed
memory in per-thread arenas (up to 8 per core) for reuse instead of
returning it to the system, so each of a worker's threads could hold its own
peak. Capping the arenas (`limit_arenas`, in each worker before its threads
start) and trimming the heap after a request with a large body (`trim`)
returns it; small requests, the usual ones, pay nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util

LARGE_BODY = 1024 * 1024  # bytes: a body at least this large is followed by a trim
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
