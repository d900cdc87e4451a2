"""RFC 6750 §3.1: a 403 for a missing scope or role says which, in WWW-Authenticate."""

import pytest

from gateway.access import require_role
from kit.auth import Principal, ensure_scope
from kit.problems import ProblemError


async def test_a_missing_scope_or_role_is_challenged_as_insufficient_scope() -> None:
    reader = Principal(subject="c1", scopes=frozenset({"registry:read"}))
    with pytest.raises(ProblemError) as scope_refusal:
        ensure_scope(reader, "registry:write")
    assert scope_refusal.value.status == 403
    assert (
        scope_refusal.value.headers["WWW-Authenticate"]
        == 'Bearer error="insufficient_scope", scope="registry:write"'
    )
    with pytest.raises(ProblemError) as role_refusal:
        await require_role("security_admin")(reader)
    assert role_refusal.value.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="security_admin"'
    )
