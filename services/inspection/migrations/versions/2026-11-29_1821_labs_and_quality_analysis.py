"""Labs and test requests (公共检测服务平台); published quality analysis releases
(质量分析评价和权威发布).

Revision ID: bc1d41bece4b
Revises: bfa603897864
Create Date: 2026-11-29 18:21:44.737820
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "bc1d41bece4b"
down_revision: str | None = "bfa603897864"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analysis_releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("industry", sa.String(length=40), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_releases")),
        sa.UniqueConstraint("industry", "quarter", name=op.f("uq_analysis_releases_industry")),
    )
    op.create_index(
        op.f("ix_analysis_releases_quarter"), "analysis_releases", ["quarter"], unique=False
    )
    op.create_table(
        "labs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("cnas_number", sa.String(length=20), nullable=True),
        sa.Column("cma_number", sa.String(length=30), nullable=True),
        sa.Column("agency", sa.String(length=40), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labs")),
        sa.UniqueConstraint("cma_number", name=op.f("uq_labs_cma_number")),
        sa.UniqueConstraint("cnas_number", name=op.f("uq_labs_cnas_number")),
    )
    op.create_table(
        "test_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("lab_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("hs_code", sa.String(length=10), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("standard", sa.String(length=60), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=4), nullable=True),
        sa.Column("report_number", sa.String(length=60), nullable=True),
        sa.Column("values", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_test_requests_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(["lab_id"], ["labs.id"], name=op.f("fk_test_requests_lab_id_labs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_requests")),
        sa.UniqueConstraint("lab_id", "report_number", name=op.f("uq_test_requests_lab_id")),
    )
    op.create_index(op.f("ix_test_requests_batch_id"), "test_requests", ["batch_id"], unique=False)
    op.create_index(
        "ix_test_requests_lab_id_status", "test_requests", ["lab_id", "status"], unique=False
    )
    op.create_index("ix_test_requests_uscc_id", "test_requests", ["uscc", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_test_requests_uscc_id", table_name="test_requests")
    op.drop_index("ix_test_requests_lab_id_status", table_name="test_requests")
    op.drop_index(op.f("ix_test_requests_batch_id"), table_name="test_requests")
    op.drop_table("test_requests")
    op.drop_table("labs")
    op.drop_index(op.f("ix_analysis_releases_quarter"), table_name="analysis_releases")
    op.drop_table("analysis_releases")
