"""Fixtures: a real stack (embedded PostgreSQL + NATS + services + gateway) per test session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploy.launcher import Stack
from tests.helpers import running_stack, token


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its tier folder. `ZONE_TEST_ORDER=reverse` runs the modules in
    reverse order (each module's tests in their own order): a module that reads what
    another left behind fails then."""
    import os

    for item in items:
        for tier in ("unit", "integration", "e2e"):
            if f"/tests/{tier}/" in str(item.fspath):
                item.add_marker(getattr(pytest.mark, tier))
    if os.environ.get("ZONE_TEST_ORDER") == "reverse":
        modules = list(dict.fromkeys(str(item.fspath) for item in items))
        rank = {path: -i for i, path in enumerate(modules)}
        items.sort(key=lambda item: rank[str(item.fspath)])  # stable: order within a module kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the stacks' temporary folders (gigabytes over a run) unless a test failed."""
    import shutil

    from tests.helpers import TEMP_DIRS

    if exitstatus == 0:
        for path in TEMP_DIRS:
            shutil.rmtree(path, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault suite's counts (produced, delivered, applied, duplicates) and the cluster's,
    whether or not output capture hid the tests' prints."""
    import sys

    lines = [
        line
        for name, module in list(sys.modules.items())
        if name.rsplit(".", 1)[-1] in ("test_faults", "test_nats_cluster")
        for line in getattr(module, "COUNTS", [])
    ]
    if lines:
        terminalreporter.section("fault counts")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The whole platform, seeded, as `make run` starts it."""
    with running_stack("e2e", seed=True) as s:
        yield s


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    """Base URL of the gateway."""
    return stack.url("gateway")


@pytest.fixture(scope="module")
def admin_token(gateway_url: str) -> str:
    """demo-admin's token (every scope), one per module: a whole run outlives a token's 15
    minutes on a loaded machine (a run that took 16 failed with 401 'token has expired')."""
    return token(gateway_url)


@pytest.fixture(scope="module")
def admin(gateway_url: str, admin_token: str) -> Iterator[httpx.Client]:
    """An admin HTTP client on the gateway, one per test module (long requests: 60 s)."""
    with httpx.Client(
        base_url=gateway_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=60
    ) as c:
        yield c


@pytest.fixture
def api(gateway_url: str, admin_token: str) -> Iterator[httpx.Client]:
    """An admin HTTP client on the gateway."""
    with httpx.Client(
        base_url=gateway_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=20
    ) as client:
        yield client
