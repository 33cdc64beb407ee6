"""Ids with the real prefixes (prefix + 24 base62 characters) and the local clock.

Imports: stdlib only.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str) -> str:
    """``prefix_`` + 24 random base62 characters, like ``thread_abc…``."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


_lock = threading.Lock()
_last_ns = 0


def now_ns() -> int:
    """Wall-clock nanoseconds, strictly increasing within this process.

    Rows order by it (``ord``): objects created in the same second keep their creation order.
    """
    global _last_ns
    with _lock:
        t = time.time_ns()
        if t <= _last_ns:
            t = _last_ns + 1
        _last_ns = t
        return t
