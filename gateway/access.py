"""The administrator roles as FastAPI dependencies and checks (rules in gateway/roles.py)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Coroutine
from typing import Any

from gateway import roles
from gateway.config import settings
from kit.auth import Principal, PrincipalDep, ensure_office, insufficient_scope
from kit.problems import ProblemError, invalid

AREAS = {
    "system_admin": "clients, users, agencies and zones' reference data",
    "security_admin": "roles, rate limits and lockouts",
    "audit_admin": "reading and verifying the audit log",
}


def _forbidden(role: str) -> ProblemError:
    return insufficient_scope(
        f"this needs the '{role}' role ({AREAS[role]})", role, f"此操作需要 '{role}' 角色"
    )


def require_role(*allowed: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """Dependency factory: the caller holds one of `allowed` (or `admin`, dev) and is bound
    to no enterprise or inspector (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        ensure_office(principal)
        if not any(principal.has_role(role) for role in allowed):
            raise _forbidden(allowed[0])
        return principal

    check.__name__ = "require_" + "_or_".join(allowed)
    check.required_scopes = allowed  # type: ignore[attr-defined]  # kit.auth.document_security
    return check


def ensure_may_change(
    principal: Principal,
    *,
    before: Collection[str],
    after: Collection[str],
    fields: Collection[str],
) -> None:
    """403 naming the role a change to a client or user needs and the caller lacks."""
    for role in sorted(roles.managing_roles(before=before, after=after, fields=fields)):
        if not principal.has_role(role):
            raise _forbidden(role)


def ensure_may_hold(scopes: Collection[str], *, bound: bool) -> None:
    """422 naming `scopes` when one identity may not hold them (binding, profile)."""
    problems = roles.holding_problems(scopes, bound=bound, dev=settings.profile == "dev")
    if problems:
        raise invalid("scopes", "; ".join(problems))
