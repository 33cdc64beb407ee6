"""Alembic revisions of the store's schema, oldest first (``rev<NNNN>_<what>.py``)."""
