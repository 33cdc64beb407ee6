"""Deleted assistants and threads (``compat_deleted``): read-through migration asks it before
fetching an id the store lacks from a legacy endpoint, so what was deleted here stays deleted
in every process. No ``schema_version`` change: releases at revision 0004 refuse a database
at an unknown revision anyway, and one without the table loses nothing.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compat_deleted",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("compat_deleted")
