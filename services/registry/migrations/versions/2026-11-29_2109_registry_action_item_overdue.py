"""registry: action items remember when their overdue event was emitted (announced once)

Revision ID: 334e14d29b40
Revises: 22294c6a2641
Create Date: 2026-11-29 21:09:34.371735
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "334e14d29b40"
down_revision: str | None = "22294c6a2641"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "action_items", sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("action_items", "overdue_notified_at")
