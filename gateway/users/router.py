"""User management: the system administrator's, and the security administrator's for
administrative users (gateway/roles.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from gateway import agencies
from gateway.access import require_role
from gateway.users import service
from gateway.users.schemas import UserIn, UserOut, UserPatch
from kit.auth import Principal
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/users", tags=["users"])
Admin = Annotated[Principal, Depends(require_role("system_admin", "security_admin"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "User not found"}}


@router.get("", summary="List users", response_model=Page[UserOut])
async def list_users(
    session: SessionDep, _: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[UserOut]:
    """Every user, by username."""
    rows, next_cursor = await service.list_page(session, page=page)
    return Page(items=[UserOut.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a user",
    response_model=UserOut,
    responses={
        409: {"description": "Username taken"},
        422: {"description": "Invalid input, or an `agency` registry does not know"},
    },
)
async def create_user(
    user_in: UserIn, session: SessionDep, admin: Admin, request: Request
) -> UserOut:
    """The password is stored as an argon2id hash; the agency must be a member agency."""
    await agencies.ensure_known(request, user_in.agency)
    return UserOut.model_validate(await service.create(session, user_in=user_in, actor=admin))


@router.get("/{username}", summary="Get a user", response_model=UserOut, responses=NOT_FOUND)
async def get_user(username: str, session: SessionDep, _: Admin) -> UserOut:
    """One user."""
    return UserOut.model_validate(await service.get(session, username))


@router.patch("/{username}", summary="Change a user", response_model=UserOut, responses=NOT_FOUND)
async def patch_user(username: str, patch: UserPatch, session: SessionDep, admin: Admin) -> UserOut:
    """Name, scopes, `active: false` to lock out, or a new password."""
    user = await service.get(session, username)
    user = await service.update(session, user, patch=patch, actor=admin)
    return UserOut.model_validate(user)
