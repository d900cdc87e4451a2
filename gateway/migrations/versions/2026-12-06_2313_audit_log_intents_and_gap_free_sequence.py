"""audit log intents and gap-free sequence

A write is now recorded twice: its intent before the gateway forwards it, its outcome after
(`phase`, `intent_seq`; an intent has no status or outcome yet). `seq` becomes a gap-free
number the audit writer assigns under its lock instead of an identity, whose values a
rolled-back insert skips: a gap now means a removed row. Existing rows are numbered 1, 2, 3, …
in chain order (their old `seq` order); their hashes are left as they were written (they
do not cover `seq`; `phase` stays NULL to say so), never recomputed: a migration that
rewrote the chain would also launder any edit made before it.

Revision ID: b5895b1b1c5d
Revises: 59e8656d7b62
Create Date: 2026-12-06 23:13:44.498296+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b5895b1b1c5d"
down_revision: str | None = "59e8656d7b62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("phase", sa.String(length=10), nullable=True))
    op.add_column("audit_log", sa.Column("intent_seq", sa.BigInteger(), nullable=True))
    op.alter_column("audit_log", "status", existing_type=sa.SMALLINT(), nullable=True)
    op.alter_column("audit_log", "outcome", existing_type=sa.VARCHAR(length=10), nullable=True)
    op.create_index(op.f("ix_audit_log_intent_seq"), "audit_log", ["intent_seq"], unique=False)
    op.execute("ALTER TABLE audit_log ALTER COLUMN seq DROP IDENTITY IF EXISTS")
    # Renumber in chain order. The key is checked row by row, so first out of the way
    # (negative), then 1..n; the append-only trigger is off for these two statements only.
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute("UPDATE audit_log SET seq = -seq")
    op.execute(
        "UPDATE audit_log AS a SET seq = n.position FROM ("
        " SELECT seq, row_number() OVER (ORDER BY seq DESC) AS position FROM audit_log"
        ") AS n WHERE a.seq = n.seq"
    )
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def downgrade() -> None:
    # Intents (no status) cannot go back into the older NOT NULL columns: they and the
    # columns that describe them are kept, and `seq` becomes an identity again.
    op.execute(
        "DO $$ DECLARE last bigint; BEGIN"
        " SELECT coalesce(max(seq), 0) + 1 INTO last FROM audit_log;"
        " EXECUTE format('ALTER TABLE audit_log ALTER COLUMN seq ADD GENERATED ALWAYS AS"
        " IDENTITY (START WITH %s)', last);"
        " END $$"
    )
