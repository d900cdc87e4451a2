"""Checklists (一单): posting a code again makes its next version; earlier versions stay as
campaigns drew them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kit.auth import Principal
from services.inspection.checklists import service
from services.inspection.checklists.models import Checklist
from services.inspection.checklists.schemas import ChecklistIn


async def test_posting_a_code_again_makes_its_next_version_and_keeps_the_first(
    session: AsyncSession, office: Principal, checklist: Checklist
) -> None:
    revised = ChecklistIn.model_validate(
        {
            "code": checklist.code,
            "industry": "lighting",
            "title": "出口灯具检查单（2027版）",
            "items": [
                {
                    "code": "LED-04",
                    "title": "能效标识",
                    "legal_basis": "GB 30255-2019",
                    "criterion": "标识齐全",
                }
            ],
        }
    )
    second = await service.publish(session, revised, office)

    versions = list(
        await session.scalars(
            select(Checklist).where(Checklist.code == checklist.code).order_by(Checklist.version)
        )
    )
    assert [(c.id, c.version) for c in versions] == [(checklist.id, 1), (second.id, 2)]
    assert [i["code"] for i in versions[0].items] == ["LED-01", "LED-02", "LED-03"]
    assert [i["code"] for i in versions[1].items] == ["LED-04"]
    assert second.created_by == "office-staff"
