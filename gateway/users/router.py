"""User management (admin only)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gateway.users import service
from gateway.users.schemas import UserIn, UserOut, UserPatch
from kit.auth import Principal, require
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/users", tags=["users"])
Admin = Annotated[Principal, Depends(require("admin"))]
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
    responses={409: {"description": "Username taken"}},
)
async def create_user(user_in: UserIn, session: SessionDep, _: Admin) -> UserOut:
    """The password is stored as an argon2id hash."""
    return UserOut.model_validate(await service.create(session, user_in=user_in))


@router.get("/{username}", summary="Get a user", response_model=UserOut, responses=NOT_FOUND)
async def get_user(username: str, session: SessionDep, _: Admin) -> UserOut:
    """One user."""
    return UserOut.model_validate(await service.get(session, username))


@router.patch("/{username}", summary="Change a user", response_model=UserOut, responses=NOT_FOUND)
async def patch_user(username: str, patch: UserPatch, session: SessionDep, _: Admin) -> UserOut:
    """Name, scopes, `active: false` to lock out, or a new password."""
    user = await service.update(session, await service.get(session, username), patch=patch)
    return UserOut.model_validate(user)
