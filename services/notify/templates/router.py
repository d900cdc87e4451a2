"""Template endpoints: the office's wording of each message, per language."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import Field
from sqlalchemy import select

from kit.auth import Principal, require
from kit.db import SessionDep, utcnow
from kit.problems import invalid
from kit.validation import Input
from kit.vocabulary import Language
from services.notify.templates import service
from services.notify.templates.models import Template

router = APIRouter(prefix="/v1/templates", tags=["templates"])
Reader = Annotated[Principal, Depends(require("notify:read"))]
Writer = Annotated[Principal, Depends(require("admin"))]  # the zone office
Code = Literal["risk.warning", "risk.precaution", "bulletin", "event", "webhook.disabled"]


class TemplateIn(Input):
    """Title and body with `{variable}` fields."""

    title: str = Field(min_length=1, max_length=500)
    body: str = Field(min_length=1, max_length=10_000)


class TemplateOut(TemplateIn):
    """A template in force."""

    code: str
    language: str
    variables: list[str]
    custom: bool = Field(description="False: the built-in wording")


@router.get("", summary="Templates in force", response_model=list[TemplateOut])
async def list_templates(session: SessionDep, principal: Reader) -> list[TemplateOut]:
    """Every code and language, with the variables each may use."""
    saved = {(t.code, t.language): t for t in await session.scalars(select(Template))}
    out = []
    for (code, lang), (title, body) in service.DEFAULTS.items():
        own = saved.get((code, lang))
        out.append(
            TemplateOut(
                code=code,
                language=lang,
                title=own.title if own else title,
                body=own.body if own else body,
                variables=list(service.VARIABLES[code]),
                custom=own is not None,
            )
        )
    return out


@router.put("/{code}/{language}", summary="Save a template", response_model=TemplateOut)
async def save_template(
    code: Annotated[Code, Path()],
    language: Annotated[Language, Path()],
    body: TemplateIn,
    session: SessionDep,
    principal: Writer,
) -> TemplateOut:
    """Checked now, not at send: a `{variable}` the code does not provide, attribute or
    index access, or a format spec is a 422 naming it."""
    try:
        service.check(code, body.title, body.body)
    except service.TemplateError as exc:
        raise invalid("body", str(exc), exc.zh) from exc
    row = await session.get(Template, (code, language), with_for_update=True)
    if row is None:
        row = Template(code=code, language=language, title="", body="", updated_by="")
        session.add(row)
    row.title, row.body, row.updated_by, row.updated_at = (
        body.title,
        body.body,
        principal.subject,
        utcnow(),
    )
    await session.flush()
    return TemplateOut(
        code=code,
        language=language,
        title=row.title,
        body=row.body,
        variables=list(service.VARIABLES[code]),
        custom=True,
    )
