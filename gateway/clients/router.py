"""Client management: the system administrator's, and the security administrator's for
administrative clients and rate limits (gateway/roles.py)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from gateway import agencies
from gateway.access import require_role
from gateway.clients import service
from gateway.clients.schemas import ClientCreated, ClientIn, ClientOut, ClientPatch
from kit.auth import Principal
from kit.db import SessionDep
from kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/clients", tags=["clients"])
Admin = Annotated[Principal, Depends(require_role("system_admin", "security_admin"))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Client not found"}}


@router.get("", summary="List clients", response_model=Page[ClientOut])
async def list_clients(
    session: SessionDep, _: Admin, page: Annotated[PageParams, Depends(page_params)]
) -> Page[ClientOut]:
    """Every client, by id; secrets are never shown."""
    rows, next_cursor = await service.list_page(session, page=page)
    return Page(items=[ClientOut.model_validate(c) for c in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    summary="Create a client",
    response_model=ClientCreated,
    responses={
        409: {"description": "Client id exists"},
        422: {"description": "Invalid input, or an `agency` registry does not know"},
    },
)
async def create_client(
    client_in: ClientIn, session: SessionDep, admin: Admin, request: Request
) -> ClientCreated:
    """The response carries `client_secret` once; only its hash is stored. The agency must
    be a member agency registry knows."""
    await agencies.ensure_known(request, client_in.agency)
    client, secret = await service.create(session, client_in=client_in, actor=admin)
    return ClientCreated(**ClientOut.model_validate(client).model_dump(), client_secret=secret)


@router.get("/{client_id}", summary="Get a client", response_model=ClientOut, responses=NOT_FOUND)
async def get_client(client_id: str, session: SessionDep, _: Admin) -> ClientOut:
    """One client."""
    return ClientOut.model_validate(await service.get(session, client_id))


@router.patch(
    "/{client_id}", summary="Change a client", response_model=ClientOut, responses=NOT_FOUND
)
async def patch_client(
    client_id: str, patch: ClientPatch, session: SessionDep, admin: Admin
) -> ClientOut:
    """Scopes, name, or `active: false` to disable it."""
    client = await service.get(session, client_id)
    client = await service.update(session, client, patch=patch, actor=admin)
    return ClientOut.model_validate(client)


@router.post(
    "/{client_id}/secret",
    summary="Rotate a client's secret",
    response_model=ClientCreated,
    responses=NOT_FOUND,
)
async def rotate_secret(client_id: str, session: SessionDep, admin: Admin) -> ClientCreated:
    """The new secret is shown once; the old one stops working."""
    client = await service.get(session, client_id)
    secret = await service.rotate_secret(session, client, actor=admin)
    return ClientCreated(**ClientOut.model_validate(client).model_dump(), client_secret=secret)
