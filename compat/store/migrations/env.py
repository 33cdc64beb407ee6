"""Alembic's environment for the store's revisions, configured in code (no alembic.ini).

``store.migrations`` hands over the connection of its schema transaction in
``config.attributes["connection"]``: the revisions run inside it, and that transaction
commits or rolls back all of them. Run by Alembic's own command line (a developer's ini with
``script_location = compat.store:migrations``, e.g. for ``alembic revision --autogenerate``), it
opens ``sqlalchemy.url`` (else the store's default URL) and takes the same lock.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlmodel import SQLModel

import compat.store._tables  # noqa: F401  (the head schema: SQLModel.metadata, for autogenerate)
from compat.store import resolve_url
from compat.store._db import make_engine, schema_transaction
from compat.store.migrations import include_name


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_name=include_name,
        # SQLite's DDL is transactional too: every revision runs in the caller's transaction
        transactional_ddl=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the store's revisions run on a live database (no --sql mode)")
_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:
    _engine = make_engine(context.config.get_main_option("sqlalchemy.url") or resolve_url())
    try:
        with schema_transaction(_engine) as _conn:
            _run(_conn)
    finally:
        _engine.dispose()
