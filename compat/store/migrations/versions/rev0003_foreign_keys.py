"""Foreign keys, ON DELETE CASCADE: a thread's messages, runs and steps, and a run's steps,
go with it (``schema_version`` 3: releases 1 and 2 refuse the database from here on).

``compat_message.run_id`` gets none: runs are deleted only with their thread, whose
messages go with it. Rows whose thread (or, for a step, run) is already gone were out of
the API's reach; they are deleted first, as the cascade would have.
On SQLite each table is rebuilt (Alembic's batch mode) from its frozen revision-2
definition, not from reflection (which misses an inline ``UNIQUE``, as in hand-made
tables), with foreign keys off for the transaction (store._db.schema_transaction) and
checked before it commits.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import logging

from alembic import op

from compat.store.migrations._released import released_schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: (table, column, parent table): each foreign key's name is fk_<table>_<column>
_KEYS = [
    ("compat_message", "thread_id", "compat_thread"),
    ("compat_run", "thread_id", "compat_thread"),
    ("compat_step", "thread_id", "compat_thread"),
    ("compat_step", "run_id", "compat_run"),
]


def upgrade() -> None:
    for table, column, parent in _KEYS:  # runs before steps: a run's removal orphans steps
        gone = op.get_bind().exec_driver_sql(
            f"DELETE FROM {table} WHERE NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.id = {table}.{column})"
        )
        if gone.rowcount:
            logging.getLogger(__name__).warning(
                "%s: deleted %d rows whose %s was gone", table, gone.rowcount, parent
            )
    at_0002 = released_schema(2)
    for table in dict.fromkeys(t for t, _, _ in _KEYS):
        with op.batch_alter_table(table, copy_from=at_0002.tables[table]) as batch:
            for t, column, parent in _KEYS:
                if t == table:
                    batch.create_foreign_key(
                        f"fk_{table}_{column}", parent, [column], ["id"], ondelete="CASCADE"
                    )
    op.execute("UPDATE compat_meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    for table in dict.fromkeys(t for t, _, _ in _KEYS):
        with op.batch_alter_table(table) as batch:
            for t, column, _ in _KEYS:
                if t == table:
                    batch.drop_constraint(f"fk_{table}_{column}", type_="foreignkey")
    op.execute("UPDATE compat_meta SET value = '2' WHERE key = 'schema_version'")
