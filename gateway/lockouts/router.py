"""Lockouts after failed logins: list them and lift them (`security_admin`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from gateway.access import require_role
from gateway.lockouts import service
from gateway.lockouts.models import EVERY_SOURCE
from gateway.lockouts.schemas import LockoutOut
from kit.auth import Principal
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params
from kit.problems import NotFound

router = APIRouter(prefix="/v1/lockouts", tags=["lockouts"])
Admin = Annotated[Principal, Depends(require_role("security_admin"))]
Account = Annotated[
    str,
    Path(
        max_length=120,
        pattern=r"^(client|user):.+$",
        description="`client:<client_id>` or `user:<username>`",
    ),
]


@router.get("", summary="List locked accounts", response_model=Page[LockoutOut])
async def list_lockouts(
    session: SessionDep, _: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[LockoutOut]:
    """Accounts refused after too many failed logins (`GATEWAY_LOGIN_MAX_FAILURES` from one
    address, or `GATEWAY_LOGIN_MAX_ACCOUNT_FAILURES` from all, within
    `GATEWAY_LOGIN_FAILURE_WINDOW_S`), until `locked_until`."""
    rows, next_cursor = await service.list_page(session, page=page)
    items = [
        LockoutOut(
            account=r.account,
            source=None if r.source == EVERY_SOURCE else r.source,
            failures=r.failures,
            locked_until=r.locked_until,
        )
        for r in rows
        if r.locked_until is not None
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.delete(
    "/{account}",
    status_code=204,
    summary="Unlock an account",
    responses={404: {"description": "The account is not locked"}},
)
async def unlock(account: Account, session: SessionDep, _: Admin) -> Response:
    """Lifts the account's lockouts from every address and forgets its failed logins; the
    unlock is in the audit log (`DELETE /v1/lockouts/<account>`, with the administrator)."""
    if not await service.unlock(session, account=account):
        raise NotFound("lockout", account)
    return Response(status_code=204)
