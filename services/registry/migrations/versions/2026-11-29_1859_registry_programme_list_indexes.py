"""registry programme: indexes for the list filters — meetings by date (no group),
responsibilities by agency and enterprise, standards and trainings by zone, trainings by
organiser, award rounds by year and zone

Revision ID: 22294c6a2641
Revises: 4de60cae86a0
Create Date: 2026-11-29 18:59:58.926818
"""

from collections.abc import Sequence

from alembic import op

revision: str = "22294c6a2641"
down_revision: str | None = "4de60cae86a0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_alliance_standards_zone_code", "alliance_standards", ["zone_code"], unique=False
    )
    op.create_index("ix_award_rounds_year", "award_rounds", ["year"], unique=False)
    op.create_index("ix_award_rounds_zone_code", "award_rounds", ["zone_code"], unique=False)
    op.create_index("ix_meetings_held_on_id", "meetings", ["held_on", "id"], unique=False)
    op.create_index(
        "ix_responsibilities_agency_code", "responsibilities", ["agency_code"], unique=False
    )
    op.create_index("ix_responsibilities_uscc", "responsibilities", ["uscc"], unique=False)
    op.create_index(
        "ix_trainings_organiser_agency_held_on_id",
        "trainings",
        ["organiser_agency", "held_on", "id"],
        unique=False,
    )
    op.create_index("ix_trainings_zone_code", "trainings", ["zone_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trainings_zone_code", table_name="trainings")
    op.drop_index("ix_trainings_organiser_agency_held_on_id", table_name="trainings")
    op.drop_index("ix_responsibilities_uscc", table_name="responsibilities")
    op.drop_index("ix_responsibilities_agency_code", table_name="responsibilities")
    op.drop_index("ix_meetings_held_on_id", table_name="meetings")
    op.drop_index("ix_award_rounds_zone_code", table_name="award_rounds")
    op.drop_index("ix_award_rounds_year", table_name="award_rounds")
    op.drop_index("ix_alliance_standards_zone_code", table_name="alliance_standards")
