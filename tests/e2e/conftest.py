"""Fixtures of the browser test modules (dashboard, portal, field app): one Chromium per
module, and axe-core's script once per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import axe_script, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium for the module (its tests open their own contexts)."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def axe_js() -> str:
    """axe-core's script (npm from Debian; skipped without it)."""
    if shutil.which("npm") is None:
        pytest.skip("npm not installed: apt-get install npm")
    return axe_script()
