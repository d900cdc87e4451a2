"""tell the subscription index of changes

Revision ID: e403d3a9781f
Revises: b23f8a7c54e3
Create Date: 2026-12-07 11:30:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

from services.notify.subscriptions.models import TRIGGER_DDL

revision: str = "e403d3a9781f"
down_revision: str | None = "b23f8a7c54e3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in TRIGGER_DDL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS subscriptions_truncated ON subscriptions")
    op.execute("DROP TRIGGER IF EXISTS subscriptions_changed ON subscriptions")
    op.execute("DROP FUNCTION IF EXISTS subscriptions_changed()")
