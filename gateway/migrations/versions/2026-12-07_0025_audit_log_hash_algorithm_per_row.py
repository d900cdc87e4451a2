"""gateway: each audit row names its chain hash (sha256, or sm3 for 国密 deployments)

Revision ID: 93027553cd40
Revises: 486e77ad98d3
Create Date: 2026-12-07 00:25:27.396600+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "93027553cd40"
down_revision: str | None = "486e77ad98d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "audit_log",
        sa.Column("hash_alg", sa.String(length=8), server_default="sha256", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("audit_log", "hash_alg")
