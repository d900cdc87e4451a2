"""registry: credit's sequence of the mirrored level (stale changes by sequence, not time)

Revision ID: 5c0e1d7a9b21
Revises: 9b1f4c2e7a10
Create Date: 2026-12-06 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c0e1d7a9b21"
down_revision: str | None = "9b1f4c2e7a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enterprises", sa.Column("credit_level_seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("enterprises", "credit_level_seq")
