"""registry programme management: leadership group, joint meetings and action items,
responsibilities, alliance standards, trainings, award rounds, and the mirror of open alerts

Revision ID: 4de60cae86a0
Revises: 91557b44cdb5
Create Date: 2026-11-29 18:22:54.522475
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4de60cae86a0"
down_revision: str | None = "91557b44cdb5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_mirror",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=True),
        sa.Column("agency", sa.String(length=40), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_mirror")),
    )
    op.create_index(
        "ix_alert_mirror_open_uscc",
        "alert_mirror",
        ["uscc"],
        unique=False,
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_table(
        "leadership_groups",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("county", sa.String(length=100), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=True),
        sa.Column("established_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_leadership_groups")),
    )
    op.create_table(
        "alliance_standards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("alliance", sa.String(length=200), nullable=True),
        sa.Column("zone_code", sa.String(length=60), nullable=True),
        sa.Column("industry", sa.String(length=30), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("text_sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_code"], ["zones.code"], name=op.f("fk_alliance_standards_zone_code_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alliance_standards")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_alliance_standards_code")),
    )
    op.create_index(
        op.f("ix_alliance_standards_industry"), "alliance_standards", ["industry"], unique=False
    )
    op.create_table(
        "award_rounds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("zone_code", sa.String(length=60), nullable=True),
        sa.Column("industry", sa.String(length=30), nullable=True),
        sa.Column("allowed_levels", postgresql.ARRAY(sa.String(length=1)), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_code"], ["zones.code"], name=op.f("fk_award_rounds_zone_code_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_award_rounds")),
    )
    op.create_table(
        "leadership_group_members",
        sa.Column("group_code", sa.String(length=40), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("representatives", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("duties", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_leadership_group_members_agency_code_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["group_code"],
            ["leadership_groups.code"],
            name=op.f("fk_leadership_group_members_group_code_leadership_groups"),
        ),
        sa.PrimaryKeyConstraint(
            "group_code", "agency_code", name=op.f("pk_leadership_group_members")
        ),
    )
    op.create_index(
        "uq_leadership_group_members_one_leader",
        "leadership_group_members",
        ["group_code"],
        unique=True,
        postgresql_where=sa.text("role = 'leader'"),
    )
    op.create_index(
        "uq_leadership_group_members_one_office",
        "leadership_group_members",
        ["group_code"],
        unique=True,
        postgresql_where=sa.text("role = 'office'"),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("agenda", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attendees", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("minutes_sha256", sa.String(length=64), nullable=False),
        sa.Column("decisions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_code"],
            ["leadership_groups.code"],
            name=op.f("fk_meetings_group_code_leadership_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(
        "ix_meetings_group_code_held_on_id",
        "meetings",
        ["group_code", "held_on", "id"],
        unique=False,
    )
    op.create_table(
        "responsibilities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("zone_code", sa.String(length=60), nullable=True),
        sa.Column("tier", sa.String(length=12), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("agency_code", sa.String(length=40), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("duty", sa.Text(), nullable=False),
        sa.Column("responsible_person", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_responsibilities_agency_code_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["uscc"], ["enterprises.uscc"], name=op.f("fk_responsibilities_uscc_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["zone_code"], ["zones.code"], name=op.f("fk_responsibilities_zone_code_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responsibilities")),
        sa.UniqueConstraint(
            "zone_code",
            "tier",
            "topic",
            "agency_code",
            "uscc",
            name="uq_responsibilities_party",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        "ix_responsibilities_topic_tier", "responsibilities", ["topic", "tier"], unique=False
    )
    op.create_table(
        "trainings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=30), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("organiser_agency", sa.String(length=40), nullable=False),
        sa.Column("zone_code", sa.String(length=60), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("hours", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organiser_agency"],
            ["agencies.code"],
            name=op.f("fk_trainings_organiser_agency_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_code"], ["zones.code"], name=op.f("fk_trainings_zone_code_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainings")),
    )
    op.create_index("ix_trainings_held_on_id", "trainings", ["held_on", "id"], unique=False)
    op.create_table(
        "action_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("decision_no", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("owner_agency", sa.String(length=40), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("zone_code", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("evidence_ref", sa.String(length=500), nullable=True),
        sa.Column("done_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_action_items_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["owner_agency"], ["agencies.code"], name=op.f("fk_action_items_owner_agency_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["zone_code"], ["zones.code"], name=op.f("fk_action_items_zone_code_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index(
        op.f("ix_action_items_meeting_id"), "action_items", ["meeting_id"], unique=False
    )
    op.create_index(
        "ix_action_items_owner_agency_deadline",
        "action_items",
        ["owner_agency", "deadline"],
        unique=False,
    )
    op.create_index(
        "ix_action_items_status_deadline", "action_items", ["status", "deadline"], unique=False
    )
    op.create_table(
        "award_nominations",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("citation", sa.Text(), nullable=True),
        sa.Column("nominated_by", sa.String(length=200), nullable=False),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=200), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["award_rounds.id"],
            name=op.f("fk_award_nominations_round_id_award_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["uscc"], ["enterprises.uscc"], name=op.f("fk_award_nominations_uscc_enterprises")
        ),
        sa.PrimaryKeyConstraint("round_id", "uscc", name=op.f("pk_award_nominations")),
    )
    op.create_table(
        "same_line_declarations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("standard_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("hs_code", sa.String(length=10), nullable=True),
        sa.Column("declared_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["alliance_standards.id"],
            name=op.f("fk_same_line_declarations_standard_id_alliance_standards"),
        ),
        sa.ForeignKeyConstraint(
            ["uscc"], ["enterprises.uscc"], name=op.f("fk_same_line_declarations_uscc_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_same_line_declarations")),
        sa.UniqueConstraint(
            "standard_id", "uscc", "product", name=op.f("uq_same_line_declarations_standard_id")
        ),
    )
    op.create_index(
        op.f("ix_same_line_declarations_uscc"), "same_line_declarations", ["uscc"], unique=False
    )
    op.create_table(
        "standard_adoptions",
        sa.Column("standard_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("adopted_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["standard_id"],
            ["alliance_standards.id"],
            name=op.f("fk_standard_adoptions_standard_id_alliance_standards"),
        ),
        sa.ForeignKeyConstraint(
            ["uscc"], ["enterprises.uscc"], name=op.f("fk_standard_adoptions_uscc_enterprises")
        ),
        sa.PrimaryKeyConstraint("standard_id", "uscc", name=op.f("pk_standard_adoptions")),
    )
    op.create_index(
        op.f("ix_standard_adoptions_uscc"), "standard_adoptions", ["uscc"], unique=False
    )
    op.create_table(
        "training_attendances",
        sa.Column("training_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["training_id"],
            ["trainings.id"],
            name=op.f("fk_training_attendances_training_id_trainings"),
        ),
        sa.ForeignKeyConstraint(
            ["uscc"], ["enterprises.uscc"], name=op.f("fk_training_attendances_uscc_enterprises")
        ),
        sa.PrimaryKeyConstraint("training_id", "uscc", name=op.f("pk_training_attendances")),
    )
    op.create_index(
        op.f("ix_training_attendances_uscc"), "training_attendances", ["uscc"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_training_attendances_uscc"), table_name="training_attendances")
    op.drop_table("training_attendances")
    op.drop_index(op.f("ix_standard_adoptions_uscc"), table_name="standard_adoptions")
    op.drop_table("standard_adoptions")
    op.drop_index(op.f("ix_same_line_declarations_uscc"), table_name="same_line_declarations")
    op.drop_table("same_line_declarations")
    op.drop_table("award_nominations")
    op.drop_index("ix_action_items_status_deadline", table_name="action_items")
    op.drop_index("ix_action_items_owner_agency_deadline", table_name="action_items")
    op.drop_index(op.f("ix_action_items_meeting_id"), table_name="action_items")
    op.drop_table("action_items")
    op.drop_index("ix_trainings_held_on_id", table_name="trainings")
    op.drop_table("trainings")
    op.drop_index("ix_responsibilities_topic_tier", table_name="responsibilities")
    op.drop_table("responsibilities")
    op.drop_index("ix_meetings_group_code_held_on_id", table_name="meetings")
    op.drop_table("meetings")
    op.drop_index(
        "uq_leadership_group_members_one_office",
        table_name="leadership_group_members",
        postgresql_where=sa.text("role = 'office'"),
    )
    op.drop_index(
        "uq_leadership_group_members_one_leader",
        table_name="leadership_group_members",
        postgresql_where=sa.text("role = 'leader'"),
    )
    op.drop_table("leadership_group_members")
    op.drop_table("award_rounds")
    op.drop_index(op.f("ix_alliance_standards_industry"), table_name="alliance_standards")
    op.drop_table("alliance_standards")
    op.drop_table("leadership_groups")
    op.drop_index(
        "ix_alert_mirror_open_uscc",
        table_name="alert_mirror",
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.drop_table("alert_mirror")
