"""Registry's integration tests run against the registry database."""

import pytest


@pytest.fixture
def database() -> str:
    """The database this folder's `session` opens."""
    return "registry"
