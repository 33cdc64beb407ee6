"""Run leases: which client executes a run (``owner``) and until when (``lease_until``, epoch
ms), and the index live clients scan for lapsed leases (``schema_version`` 2).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OWNED_SQL = "status IN ('queued', 'in_progress', 'cancelling')"


def upgrade() -> None:
    op.add_column("compat_run", sa.Column("owner", sa.String(64), nullable=True))
    op.add_column(
        "compat_run",
        sa.Column("lease_until", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
    )
    op.create_index(
        "ix_compat_run_owned_lease",
        "compat_run",
        ["lease_until"],
        sqlite_where=sa.text(_OWNED_SQL),
        postgresql_where=sa.text(_OWNED_SQL),
    )
    op.execute("UPDATE compat_meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_index("ix_compat_run_owned_lease", table_name="compat_run")
    with op.batch_alter_table("compat_run") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")
    op.execute("UPDATE compat_meta SET value = '1' WHERE key = 'schema_version'")
