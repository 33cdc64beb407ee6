"""API keys the server issues: ``sk-compat-`` and 43 random URL-safe characters (256 bits).

Only the key's sha256 is stored; a key is shown once, when it is created. ``KeyCache``
answers the tenant of a presented key, checking the store again after a few seconds (so a
revoked key stops working within ``key_cache_seconds``).
Imports: compat.store.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from typing import Any

from ..store import Store

PREFIX = "sk-compat-"


def hash_key(key: str) -> str:
    """The stored form of a key (sha256, hex): a high-entropy key needs no slow hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def mask(key: str) -> str:
    """The key as the real API's 401 shows it: first 8 characters, stars, last 4."""
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def create_key(store: Store, tenant: str, label: str | None = None) -> tuple[dict[str, Any], str]:
    """A new key for ``tenant``: ``(its stored row, the key)``. The key is not kept."""
    key = PREFIX + secrets.token_urlsafe(32)
    row = {
        "id": "key_" + secrets.token_hex(12),
        "key_hash": hash_key(key),
        "hint": key[: len(PREFIX) + 4] + "…",
        "tenant": tenant,
        "label": label,
        "created_at": int(time.time()),
        "revoked_at": None,
    }
    with store.write() as repo:
        repo.insert_api_key(row)
    return row, key


class KeyCache:
    """Which tenant a presented key belongs to (None: unknown or revoked), cached briefly."""

    def __init__(self, store: Store, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str | None, float]] = {}

    def tenant_of(self, key: str) -> str | None:
        """The key's tenant (blocking: call it from a worker thread)."""
        digest = hash_key(key)
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.store.read() as repo:
            row = repo.api_key_by_hash(digest)
        tenant = None if row is None or row["revoked_at"] is not None else str(row["tenant"])
        with self._lock:
            if len(self._seen) > 10_000:  # a flood of wrong keys never grows it unbounded
                self._seen.clear()
            self._seen[digest] = (tenant, now + self.ttl)
        return tenant
