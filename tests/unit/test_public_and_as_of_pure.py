"""Pure parts of #17's figures and public pages: the exports' precedence (batches over
surveys) and the gateway's routing of the public paths (no token needed: the service
decides)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.proxy import route_for
from services.inspection.risk.kpis import Sourced, sourced


def _row(shipping: int, surveyed: int) -> SimpleNamespace:
    return SimpleNamespace(
        shipping=shipping,
        surveyed=surveyed,
        exports_usd=200,
        notifications=2,
        returns=1,
        survey_exports_usd=900,
        survey_notifications=9,
        survey_returns=8,
    )


@pytest.mark.parametrize(
    ("shipping", "surveyed", "expected"),
    [
        (1, 3, Sourced("batches", 200, 2, 1)),  # any batch: batches win
        (0, 3, Sourced("surveys", 900, 9, 8)),  # no batch, surveys: the surveys
        (0, 0, Sourced("batches", 200, 2, 1)),  # neither: batches (zero in practice)
    ],
)
def test_batches_take_precedence_over_surveys(
    shipping: int, surveyed: int, expected: Sourced
) -> None:
    assert sourced(_row(shipping, surveyed)) == expected


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/public/zones", "registry"),
        ("/v1/public/draws", "inspection"),
        ("/v1/public/draws/0190f0e4-0000-7000-8000-000000000000", "inspection"),
        ("/v1/public/draws/0190f0e4-0000-7000-8000-000000000000/verify", "inspection"),
        ("/v1/public/analysis/2026Q1", "inspection"),
    ],
)
def test_public_paths_are_routed_to_their_service(path: str, service: str) -> None:
    routed = route_for(path)
    assert routed is not None and routed[1] == service
