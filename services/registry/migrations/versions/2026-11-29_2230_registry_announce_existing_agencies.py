"""registry: announce the agencies that existed before agencies were announced

Inspection keeps a copy of the member agencies (labs name one as operator) from
`registry.agency.registered.v1`; agencies added before that event existed are announced once
here, through the outbox, so an upgraded deployment's inspection learns them too. A fresh
database has no agencies yet, and this does nothing.

Revision ID: 9b1f4c2e7a10
Revises: 334e14d29b40
Create Date: 2026-11-29 22:30:00
"""

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.events import AgencyRegistered, make_event

revision: str = "9b1f4c2e7a10"
down_revision: str | None = "334e14d29b40"
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
    pass  # announcements once sent stay sent; inspection's copy is harmless
