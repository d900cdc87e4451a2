"""Separated administrator roles (gateway/roles.py, kit.auth.Principal): 三权分立."""

from __future__ import annotations

import pytest

from gateway.roles import holding_problems, issuable, managing_roles
from kit.auth import ALL_SCOPES, Principal

ROLES = ("system_admin", "security_admin", "audit_admin")


def _principal(*scopes: str) -> Principal:
    return Principal(subject="t", scopes=frozenset(scopes))


@pytest.mark.parametrize("dev", [True, False])
@pytest.mark.parametrize("role", [*ROLES, "admin"])
def test_no_bound_identity_holds_an_administrative_role_in_any_profile(
    role: str, dev: bool
) -> None:
    problems = holding_problems([role, "registry:read"], bound=True, dev=dev)
    assert problems and "bound to an enterprise or an inspector" in problems[0]
    assert holding_problems(["registry:read", "registry:write"], bound=True, dev=dev) == []


def test_outside_dev_admin_is_refused_and_each_role_is_held_alone() -> None:
    assert "dev profile" in holding_problems(["admin"], bound=False, dev=False)[0]
    for role in ROLES:
        assert holding_problems([role], bound=False, dev=False) == []
        assert holding_problems([role, "registry:write"], bound=False, dev=False) != []
    assert holding_problems(["system_admin", "security_admin"], bound=False, dev=False) != []
    assert holding_problems(list(ROLES), bound=False, dev=False) != []
    assert holding_problems(["registry:read", "credit:write"], bound=False, dev=False) == []


def test_dev_allows_every_scope_on_an_unbound_identity() -> None:
    assert holding_problems(ALL_SCOPES, bound=False, dev=True) == []


def test_tokens_drop_what_the_holder_may_not_hold_any_more() -> None:
    assert issuable(["admin", "registry:read"], bound=True, dev=True) == ["registry:read"]
    assert issuable(["security_admin", "registry:read"], bound=True, dev=False) == ["registry:read"]
    assert issuable(["admin", "registry:read"], bound=False, dev=False) == ["registry:read"]
    assert issuable(["admin"], bound=False, dev=True) == ["admin"]
    assert issuable(["audit_admin"], bound=False, dev=False) == ["audit_admin"]


def test_administrative_identities_are_the_security_administrators() -> None:
    for before, after in (
        (["registry:read"], ["system_admin"]),
        (["audit_admin"], ["audit_admin"]),
    ):
        assert managing_roles(before=before, after=after, fields={"name"}) == {"security_admin"}
    assert managing_roles(before=(), after=["admin"], fields={"scopes"}) == {"security_admin"}


def test_plain_identities_are_the_system_administrators_but_rate_limits() -> None:
    plain = ["registry:read"]
    assert managing_roles(before=plain, after=plain, fields={"name", "active"}) == {"system_admin"}
    assert managing_roles(before=plain, after=plain, fields={"rate_limit_per_s"}) == {
        "security_admin"
    }
    both = managing_roles(before=(), after=plain, fields={"client_id", "rate_limit_burst"})
    assert both == {"system_admin", "security_admin"}


def test_each_role_passes_only_its_own_checks() -> None:
    system, security, audit = (_principal(r) for r in ROLES)
    # system_admin: the zone office's powers in every service, but not the other roles
    assert system.is_admin and system.has("admin") and system.has("registry:write")
    assert not system.has("audit_admin") and not system.has_role("security_admin")
    # security_admin and audit_admin: nothing outside their role
    for principal, role in ((security, "security_admin"), (audit, "audit_admin")):
        assert principal.has_role(role) and not principal.is_admin
        assert not principal.has("admin") and not principal.has("registry:write")
        assert not principal.has_role("system_admin")
    # admin (dev only): everything
    admin = _principal("admin")
    assert all(admin.has(s) and admin.has_role(s) for s in ALL_SCOPES)
