"""gateway encrypt names and rotate signing keys

Users' names are personal information (个人信息保护法) and the signing keys' private halves
secrets: both columns now hold kit.crypto's encrypted form under the gateway's keys
(GATEWAY_PII_KEYS; the launcher hands `make run`'s own), and the rows already there are
encrypted by this migration. Signing keys gain the times that let them rotate: when a key
becomes current (`active_from`, the creation time for existing keys) and when it leaves the
JWKS (`retired_at`), and who added it. Stop the old gateway pods first: they would read the
encrypted form as a key. The downgrade writes the plaintext back.

Revision ID: 6bc0cc6d7f2c
Revises: 93027553cd40
Create Date: 2026-12-07 02:00:55.214713+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gateway.keys import pii
from kit.crypto import reencrypt

revision: str = "6bc0cc6d7f2c"
down_revision: str | None = "93027553cd40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (primary key, {column: the context bound into its values})
COLUMNS: dict[str, tuple[str, dict[str, str]]] = {
    "users": ("username", {"name": "gateway.users.name"}),
    "signing_keys": ("kid", {"private_pem": "gateway.signing_keys.private_pem"}),
}


def upgrade() -> None:
    op.add_column("signing_keys", sa.Column("active_from", sa.DateTime(timezone=True)))
    op.execute("UPDATE signing_keys SET active_from = created_at")
    op.alter_column("signing_keys", "active_from", nullable=False)
    op.add_column(
        "signing_keys", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("signing_keys", sa.Column("created_by", sa.String(length=100), nullable=True))
    op.alter_column(
        "users",
        "name",
        existing_type=sa.VARCHAR(length=200),
        type_=sa.Text(),
        existing_nullable=False,
    )
    for table, (key, columns) in COLUMNS.items():
        reencrypt(op.get_bind(), pii.get(), table=table, key_columns=[key], columns=columns)


def downgrade() -> None:
    for table, (key, columns) in COLUMNS.items():
        reencrypt(
            op.get_bind(),
            pii.get(),
            table=table,
            key_columns=[key],
            columns=columns,
            to_plaintext=True,
        )
    op.alter_column(
        "users",
        "name",
        existing_type=sa.Text(),
        type_=sa.VARCHAR(length=200),
        existing_nullable=False,
    )
    op.drop_column("signing_keys", "created_by")
    op.drop_column("signing_keys", "retired_at")
    op.drop_column("signing_keys", "active_from")
