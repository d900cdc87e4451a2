"""registry encrypt personal fields

Legal representatives, responsible persons and commitment signatories are personal
information (个人信息保护法): their columns become text holding kit.crypto's encrypted form,
and the rows already there are encrypted under the current key (REGISTRY_PII_KEYS; the
launcher hands `make run`'s own). Stop the old registry pods first: they would read the
encrypted form as a name. The downgrade writes the plaintext back.

Revision ID: 1aeb2fe1d827
Revises: 5c0e1d7a9b21
Create Date: 2026-12-06 23:21:27.379135+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.crypto import reencrypt
from services.registry.keys import pii

revision: str = "1aeb2fe1d827"
down_revision: str | None = "5c0e1d7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (primary key, nullable, {column: the context bound into its values})
COLUMNS: dict[str, tuple[str, bool, dict[str, str]]] = {
    "enterprises": (
        "uscc",
        True,
        {"legal_representative": "registry.enterprises.legal_representative"},
    ),
    "responsibilities": (
        "id",
        True,
        {"responsible_person": "registry.responsibilities.responsible_person"},
    ),
    "commitments": ("id", False, {"signatory": "registry.commitments.signatory"}),
}


def upgrade() -> None:
    for table, (key, nullable, columns) in COLUMNS.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                existing_type=sa.VARCHAR(length=100),
                type_=sa.Text(),
                existing_nullable=nullable,
            )
        reencrypt(op.get_bind(), pii.get(), table=table, key_columns=[key], columns=columns)


def downgrade() -> None:
    for table, (key, nullable, columns) in COLUMNS.items():
        reencrypt(
            op.get_bind(),
            pii.get(),
            table=table,
            key_columns=[key],
            columns=columns,
            to_plaintext=True,
        )
        for column in columns:
            op.alter_column(
                table,
                column,
                existing_type=sa.Text(),
                type_=sa.VARCHAR(length=100),
                existing_nullable=nullable,
            )
