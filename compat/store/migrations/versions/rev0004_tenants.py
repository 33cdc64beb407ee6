"""Tenants and API keys for `assistants-compat serve` (``schema_version`` 4: releases that
only know revision 0003 refuse the database, as they would show every tenant's objects).

Assistants and threads get ``tenant`` (server default ``''``: everything stored so far is
the in-process client's one default tenant); messages, runs and steps belong to their
thread's. ``compat_api_key`` holds the hashes of the keys the server accepts.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("compat_assistant", "compat_thread"):
        op.add_column(
            table,
            sa.Column("tenant", sa.String(64), nullable=False, server_default=sa.text("''")),
        )
    op.create_index("ix_compat_assistant_tenant_ord", "compat_assistant", ["tenant", "ord", "seq"])
    op.create_index("ix_compat_thread_tenant", "compat_thread", ["tenant"])
    op.create_table(
        "compat_api_key",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("label", sa.String(256), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_compat_api_key_tenant", "compat_api_key", ["tenant"])
    op.execute("UPDATE compat_meta SET value = '4' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_index("ix_compat_api_key_tenant", table_name="compat_api_key")
    op.drop_table("compat_api_key")
    op.drop_index("ix_compat_thread_tenant", table_name="compat_thread")
    op.drop_index("ix_compat_assistant_tenant_ord", table_name="compat_assistant")
    for table in ("compat_assistant", "compat_thread"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tenant")
    op.execute("UPDATE compat_meta SET value = '3' WHERE key = 'schema_version'")
