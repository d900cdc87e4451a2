"""registry: announce the member agencies again, for credit's copy

Credit now refuses a fact whose source is not a member agency, from its copy of
`registry.agency.registered.v1`; its consumer only starts following that event with this
release, past the announcements already made. Every agency is announced once more here,
through the outbox, so an upgraded deployment's credit learns them (inspection's copy is an
upsert and is unchanged). A fresh database has no agencies yet, and this does nothing.

Revision ID: c7a1e5d93b42
Revises: 2e8435a9794b
Create Date: 2026-12-07 02:05:00
"""

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.events import AgencyRegistered, make_event

revision: str = "c7a1e5d93b42"
down_revision: str | None = "2e8435a9794b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    agencies = bind.execute(
        sa.text("SELECT code, name_zh, name_en, group_role FROM agencies ORDER BY code")
    ).all()
    for code, name_zh, name_en, group_role in agencies:
        event = make_event(
            source="/services/registry",
            type="registry.agency.registered.v1",
            subject=code,
            data=AgencyRegistered(
                code=code, name_zh=name_zh, name_en=name_en, group_role=group_role
            ),
        )
        bind.execute(
            sa.text(
                "INSERT INTO outbox (id, subject, type, payload, created_at)"
                " VALUES (:id, :subject, :type, CAST(:payload AS jsonb), now())"
            ),
            {
                "id": uuid.UUID(event.id),
                "subject": event.nats_subject,
                "type": event.type,
                "payload": json.dumps(event.model_dump(mode="json"), ensure_ascii=False),
            },
        )


def downgrade() -> None:
    pass  # announcements once sent stay sent; the copies are upserts, harmless
