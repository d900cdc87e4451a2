"""Token signing keys: list them and rotate them (`security_admin`)."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from gateway.access import require_role
from gateway.config import settings
from gateway.signing import service
from gateway.signing.models import SigningKey
from gateway.signing.schemas import KeyState, SigningKeyOut, SigningKeyRotateIn
from kit.auth import Principal
from kit.db import SessionDep, utcnow
from kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/signing-keys", tags=["signing keys"])
Admin = Annotated[Principal, Depends(require_role("security_admin"))]


def _out(key: SigningKey, current_kid: str | None) -> SigningKeyOut:
    now = utcnow()
    state: KeyState
    if key.retired_at is not None and key.retired_at <= now:
        state = "retired"
    elif key.kid == current_kid:
        state = "current"
    elif key.active_from > now:
        state = "next"
    else:
        state = "published"
    return SigningKeyOut(
        kid=key.kid,
        state=state,
        created_at=key.created_at,
        active_from=key.active_from,
        retired_at=key.retired_at,
        created_by=key.created_by,
    )


@router.get("", summary="List signing keys", response_model=Page[SigningKeyOut])
async def list_keys(
    session: SessionDep, _: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[SigningKeyOut]:
    """Every key the gateway has signed tokens with, newest first, with its state."""
    rows, next_cursor = await service.list_page(session, page=page)
    current = (await service.in_force(session)).kids[0]
    return Page(items=[_out(k, current) for k in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Rotate the signing key",
    response_model=SigningKeyOut,
    responses={403: {"description": "Not a security administrator"}},
)
async def rotate(
    session: SessionDep,
    admin: Admin,
    body: Annotated[SigningKeyRotateIn, Body()] = SigningKeyRotateIn(),
) -> SigningKeyOut:
    """A new Ed25519 key (its private half encrypted at rest, never shown): published by
    every gateway process within 5 s and current 15 s after the rotation; the keys it
    replaces stay in the JWKS while what they signed can live. The rotation is in the audit
    log with the administrator."""
    key = await service.rotate(
        session,
        by=admin.subject,
        revoke_previous=body.revoke_previous,
        token_max_lifetime_s=settings.token_max_lifetime_s,
    )
    return _out(key, key.kid if body.revoke_previous else None)
