"""Separated administrator roles (三权分立, 等保 2.0 level 3): who may hold what, who may change
whom. Pure rules; the clients', users' and token endpoints call them.

- `system_admin` (系统管理员): clients, users, agencies and zones' reference data.
- `security_admin` (安全管理员): roles (any identity holding an administrative role), rate
  limits, lockouts.
- `audit_admin` (审计管理员): reads and verifies the audit log, nothing else.
- `admin`: all of it, only in the `dev` profile (`demo-admin`, `demo-office`).

Outside `dev` an administrative identity holds exactly one scope, its role: `system_admin`
already passes every service's checks, and a second scope on the other two would let them
change what they must only watch or guard. No identity bound to an enterprise or an
inspector ever holds an administrative role, in any profile.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from kit.auth import ADMIN_ROLES

ADMINISTRATIVE: frozenset[str] = ADMIN_ROLES | {"admin"}
RATE_LIMIT_FIELDS = frozenset({"rate_limit_per_s", "rate_limit_burst"})


def holding_problems(scopes: Iterable[str], *, bound: bool, dev: bool) -> list[str]:
    """Why one identity may not hold `scopes`; empty when it may."""
    held = set(scopes)
    roles = held & ADMINISTRATIVE
    if not roles:
        return []
    if bound:
        return [
            "an identity bound to an enterprise or an inspector may not hold an administrative "
            f"role ({', '.join(sorted(roles))})"
        ]
    if dev:
        return []
    if "admin" in roles:
        return [
            "'admin' (every scope) exists only in the dev profile: give system_admin, "
            "security_admin and audit_admin to separate identities"
        ]
    if len(held) > 1:
        return [
            "outside the dev profile an administrative identity holds its one role and no "
            f"other scope (asked: {', '.join(sorted(held))})"
        ]
    return []


def issuable(scopes: Iterable[str], *, bound: bool, dev: bool) -> list[str]:
    """The scopes a token may carry for a holder with `scopes`: a row written before these
    rules (an enterprise-bound client made `admin`) gets no administrative role from it, and
    `admin` is honoured only in the dev profile."""
    refused = ADMINISTRATIVE if bound else (set() if dev else {"admin"})
    return [s for s in scopes if s not in refused]


def managing_roles(
    *, before: Collection[str], after: Collection[str], fields: Collection[str]
) -> frozenset[str]:
    """The roles a change to a client or user needs, all of them: an identity that holds or
    gains an administrative role is the security administrator's alone (its role, name,
    secret, limits); otherwise rate limits are the security administrator's and everything
    else (creating, naming, scopes, disabling, a new secret) the system administrator's."""
    if ADMINISTRATIVE & (set(before) | set(after)):
        return frozenset({"security_admin"})
    needed = set()
    if RATE_LIMIT_FIELDS & set(fields):
        needed.add("security_admin")
    if set(fields) - RATE_LIMIT_FIELDS:
        needed.add("system_admin")
    return frozenset(needed)
