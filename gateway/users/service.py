"""Users: create, change, and check passwords (argon2id, off the event loop)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.access import ensure_may_change, ensure_may_hold
from gateway.auth import revocations
from gateway.config import settings
from gateway.users.models import User
from gateway.users.policy import password_problems
from gateway.users.schemas import EnterpriseUserIn, InspectorUserIn, OfficeUserIn, UserPatch
from kit.auth import ALL_SCOPES, Principal
from kit.db import get_or_404
from kit.pagination import PageParams, keyset_page
from kit.problems import Conflict, invalid

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not-a-real-password")


async def create(
    session: AsyncSession,
    *,
    user_in: EnterpriseUserIn | InspectorUserIn | OfficeUserIn,
    actor: Principal,
) -> User:
    """Create a user; 409 if the username is taken, 422 for scopes it may not hold, 403 when
    the actor's role does not cover it."""
    ensure_may_hold(user_in.scopes, bound=user_in.kind != "office")
    fields = user_in.model_dump(exclude_none=True)
    ensure_may_change(actor, before=(), after=user_in.scopes, fields=fields)
    if await session.get(User, user_in.username) is not None:
        raise Conflict(
            f"user '{user_in.username}' already exists",
            detail_zh=f"用户“{user_in.username}”已存在",
        )
    check_password(user_in.password, username=user_in.username)
    data = user_in.model_dump(exclude={"password"})
    data["scopes"] = sorted(set(data["scopes"]))
    password_hash = await asyncio.to_thread(HASHER.hash, user_in.password)
    user = User(**data, password_hash=password_hash, active=True)
    session.add(user)
    await session.flush()
    return user


async def get(session: AsyncSession, username: str) -> User:
    """A user, or 404."""
    return await get_or_404(session, User, username, "user")


async def list_page(session: AsyncSession, *, page: PageParams) -> tuple[list[User], str | None]:
    """Users by username."""
    return await keyset_page(session, select(User), keys=[User.username], page=page)


async def update(session: AsyncSession, user: User, *, patch: UserPatch, actor: Principal) -> User:
    """Apply a change; a new password is hashed. Only office users hold administrative roles
    (422 naming `scopes`); an administrative user is the security administrator's (403).
    Deactivating the user revokes the tokens they hold."""
    changes = patch.model_dump(exclude_unset=True)
    after = changes.get("scopes") or user.scopes
    ensure_may_hold(after, bound=user.kind != "office")
    ensure_may_change(actor, before=user.scopes, after=after, fields=changes)
    if changes.get("scopes"):
        changes["scopes"] = sorted(set(changes["scopes"]))
    if "password" in changes:
        check_password(changes["password"], username=user.username)
        user.password_hash = await asyncio.to_thread(HASHER.hash, changes.pop("password"))
    if user.active and changes.get("active") is False:
        await revocations.revoke_subject(
            session, subject=f"user:{user.username}", max_lifetime_s=settings.token_max_lifetime_s
        )
    for field, value in changes.items():
        setattr(user, field, value)
    await session.flush()
    return user


def check_password(password: str, *, username: str) -> None:
    """422 naming `password` when it breaks the policy (length, the user name in it)."""
    reasons = password_problems(
        password, username=username, min_length=settings.password_min_length
    )
    if reasons:
        raise invalid(
            "password", "; ".join(en for en, _ in reasons), "；".join(zh for _, zh in reasons)
        )


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user whose password matches, else None."""
    valid = 0 < len(username) <= 100 and username.isprintable()
    user = await session.get(User, username.lower()) if valid else None
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        await asyncio.to_thread(HASHER.verify, stored, password)
        matches = True
    except (VerificationError, InvalidHashError):
        matches = False
    if user is None or not user.active or not matches:
        return None
    return user


DEMO_USER = "demo-office"
DEMO_USER_PASSWORD = "ninghai-zone-2017"  # noqa: S105 - dev profile only, see ensure_demo_user
# The enterprise portal's demo user, made by the dev profile's seed (deploy/seed.py): its USCC
# is the seed's, which the gateway does not know.
DEMO_ENTERPRISE_USER = "demo-enterprise"
# The field app's demo inspectors, made by the dev profile's start (deploy/seed_field.py).
DEMO_INSPECTOR_USERS = ("demo-inspector", "demo-inspector-2")


async def ensure_demo_user(session: AsyncSession) -> None:
    """Dev profile only: `demo-office`, a zone-office person with every scope, so the
    dashboard can be tried at once (as `demo-admin` is for the API). Its password is reset."""
    user = await session.get(User, DEMO_USER)
    if user is not None and user.active and user.scopes == sorted(ALL_SCOPES):
        try:
            await asyncio.to_thread(HASHER.verify, user.password_hash, DEMO_USER_PASSWORD)
            return
        except (VerificationError, InvalidHashError):
            pass
    password_hash = await asyncio.to_thread(HASHER.hash, DEMO_USER_PASSWORD)
    if user is None:
        session.add(
            User(
                username=DEMO_USER,
                password_hash=password_hash,
                name="示范区办公室演示用户 (demo, dev profile only)",
                kind="office",
                agency="commerce",
                scopes=sorted(ALL_SCOPES),
                active=True,
            )
        )
    else:
        user.password_hash = password_hash
        user.scopes = sorted(ALL_SCOPES)
        user.active = True
    await session.flush()


async def remove_demo_user(session: AsyncSession) -> None:
    """Outside dev the demo users must not exist, even in a database copied from dev."""
    for name in (DEMO_USER, DEMO_ENTERPRISE_USER, *DEMO_INSPECTOR_USERS):
        user = await session.get(User, name)
        if user is not None:
            await session.delete(user)
    await session.flush()
