"""inspection: who recorded a task's result, and each assigned inspector's own confirmation

A result is final only when every assigned inspector has confirmed it with their own token
(issue 19). Tasks completed before this keep an empty list: their `result.confirmed_by` was
one inspector's word for the others, not a confirmation, so none is invented for them. The
constant default makes the NOT NULL column a catalogue-only change (no table rewrite).

Revision ID: caae3007fdb8
Revises: 8d2b6f0c4e17
Create Date: 2026-12-06 23:15:15.857039+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "caae3007fdb8"
down_revision: str | None = "8d2b6f0c4e17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("recorded_by", sa.Uuid(), nullable=True))
    op.add_column(
        "tasks",
        sa.Column(
            "confirmations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("tasks", "confirmations")
    op.drop_column("tasks", "recorded_by")
