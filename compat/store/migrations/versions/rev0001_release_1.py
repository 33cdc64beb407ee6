"""The schema of release 52a38c3 (``compat_meta.schema_version`` 1).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from compat.store.migrations._released import released_schema

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    md = released_schema(1)
    md.create_all(op.get_bind())
    op.execute("INSERT INTO compat_meta (key, value) VALUES ('schema_version', '1')")


def downgrade() -> None:
    released_schema(1).drop_all(op.get_bind())
