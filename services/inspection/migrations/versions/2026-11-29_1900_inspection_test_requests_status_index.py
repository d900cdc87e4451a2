"""inspection: an index for the test requests listed by status across labs (the office's queue)

Revision ID: f28d0d77dcbd
Revises: bc1d41bece4b
Create Date: 2026-11-29 19:00:06.721339
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f28d0d77dcbd"
down_revision: str | None = "bc1d41bece4b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_test_requests_status_id", "test_requests", ["status", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_test_requests_status_id", table_name="test_requests")
