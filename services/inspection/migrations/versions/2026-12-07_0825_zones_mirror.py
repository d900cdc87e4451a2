"""zones mirror: the zones registry announced, for the `zone` filters

The zones inspection already knew (its directory's members and its campaigns name them) are
copied in; a zone registry planned before `registry.zone.registered` existed and nobody has
joined yet is learnt with its first admission.

Revision ID: f440e8a6f214
Revises: 6c7b28ce8741
Create Date: 2026-12-07 08:25:14.336503+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f440e8a6f214"
down_revision: str | None = "6c7b28ce8741"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zones",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_zones")),
    )
    op.execute(
        "INSERT INTO zones (code, received_at) "
        "SELECT DISTINCT code, now() FROM ("
        " SELECT unnest(zones) AS code FROM directory"
        " UNION SELECT unnest(zones) FROM campaigns) AS known "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.drop_table("zones")
