"""inspection: the member agencies registry announces (labs name one as operator)

Revision ID: f7a3892c8d58
Revises: 5676979fa15f
Create Date: 2026-11-29 21:48:35.455471
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7a3892c8d58"
down_revision: str | None = "5676979fa15f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )


def downgrade() -> None:
    op.drop_table("agencies")
