"""Store errors: what callers above the store may catch. Imports: stdlib only."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of errors raised by the store."""


class ActiveRunConflict(StoreError):
    """The thread already has an active run (the database's partial unique index said so)."""

    def __init__(self, thread_id: str, run_id: str | None) -> None:
        super().__init__(thread_id, run_id)
        self.thread_id = thread_id
        self.run_id = run_id


class SchemaVersionError(StoreError):
    """The database was written by a newer schema than this code knows."""


class SchemaUpgradeRequired(StoreError):
    """The database's schema is older than this code's and automatic upgrades are off
    (``Store(url, migrate=False)`` or ``COMPAT_AUTO_MIGRATE=0``): run
    ``assistants-compat db upgrade``."""


class StoreUnavailable(StoreError):
    """The database could not be reached or written (down, locked, full, gone): the
    transaction was rolled back and may succeed if tried again later."""
