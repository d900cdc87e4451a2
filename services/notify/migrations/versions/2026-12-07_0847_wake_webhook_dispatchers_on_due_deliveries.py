"""wake webhook dispatchers on due deliveries

Revision ID: ffe53ac71c79
Revises: aebd7e0722e3
Create Date: 2026-12-07 08:47:15.386371+00:00
"""

from collections.abc import Sequence

from alembic import op

from services.notify.deliveries.models import WAKE_TRIGGER_DDL

revision: str = "ffe53ac71c79"
down_revision: str | None = "aebd7e0722e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in WAKE_TRIGGER_DDL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS deliveries_wake ON deliveries")
    op.execute("DROP FUNCTION IF EXISTS deliveries_wake()")
