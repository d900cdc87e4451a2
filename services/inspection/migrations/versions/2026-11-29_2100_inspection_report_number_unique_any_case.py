"""inspection: a lab's report number is unique whatever its case (WT-1 and wt-1 are one report)

The unique constraint on (lab_id, report_number) becomes a unique index on
(lab_id, lower(report_number)). Report numbers recorded twice in different cases before
this revision stop the upgrade with the rows named: which one is the lab's report is for a
person to decide, not for the migration.

Revision ID: 5676979fa15f
Revises: f28d0d77dcbd
Create Date: 2026-11-29 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5676979fa15f"
down_revision: str | None = "f28d0d77dcbd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUPLICATES = sa.text(
    "SELECT lab_id, lower(report_number) AS report, array_agg(id::text ORDER BY id) AS ids "
    "FROM test_requests WHERE report_number IS NOT NULL "
    "GROUP BY lab_id, lower(report_number) HAVING count(*) > 1 ORDER BY 1, 2 LIMIT 20"
)


def upgrade() -> None:
    twins = op.get_bind().execute(DUPLICATES).all()
    if twins:
        listed = "; ".join(f"lab {r.lab_id} report {r.report}: {', '.join(r.ids)}" for r in twins)
        raise RuntimeError(
            "test requests share a report number of the same lab in different cases; "
            f"correct them, then migrate again: {listed}"
        )
    op.drop_constraint("uq_test_requests_lab_id", "test_requests", type_="unique")
    op.create_index(
        "uq_test_requests_lab_id_report_number_ci",
        "test_requests",
        ["lab_id", sa.text("lower(report_number)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_test_requests_lab_id_report_number_ci", table_name="test_requests")
    op.create_unique_constraint(
        "uq_test_requests_lab_id", "test_requests", ["lab_id", "report_number"]
    )
