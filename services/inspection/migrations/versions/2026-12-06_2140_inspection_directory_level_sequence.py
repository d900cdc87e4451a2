"""inspection: credit's sequence of the mirrored level (stale changes by sequence, not time)

Revision ID: 8d2b6f0c4e17
Revises: f7a3892c8d58
Create Date: 2026-12-06 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d2b6f0c4e17"
down_revision: str | None = "f7a3892c8d58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("directory", sa.Column("level_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("directory", "level_seq")
