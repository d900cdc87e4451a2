"""The proxy's routing table by section answers as the ordered prefix list did, and a
list's export is told from the query as Starlette's query parameters told it."""

from __future__ import annotations

import pytest

from gateway.proxy import ROUTES, _asks_for_file, route_for


def _by_list(path: str) -> tuple[str, str] | None:
    """The routing as it was: every prefix in order, the longest first."""
    for prefix, service in ROUTES:
        bare = prefix.rstrip("/")
        if (
            path == bare
            or path.startswith(bare + "/")
            or (prefix.endswith("/") and path.startswith(prefix))
        ):
            return prefix, service
    return None


EDGES = [
    "/",
    "",
    "/v1",
    "/v1/",
    "/v2/zones",
    "/v1//zones",
    "/v1/zonesx",
    "/v1/zones/",
    "/v1/public",
    "/v1/public/",
    "/v1/public/zones",
    "/v1/public/zones/x",
    "/v1/public/alerts",
    "/v1/publicx",
    "/v1/risk",
    "/v1/riskx",
    "/v1/risk/signals",
    "/v1/risk/signals/imports",
    "/v1/risk/signals/imports/7",
    "/v1/bulletins/imports2",
    "/v1/enterprises/X/profile",
    "/dashboard/",
    "/oauth/token",
]


@pytest.mark.parametrize(
    "path",
    EDGES
    + [prefix for prefix, _ in ROUTES]
    + [prefix.rstrip("/") + "/a/b" for prefix, _ in ROUTES]
    + [prefix.rstrip("/") + "x" for prefix, _ in ROUTES],
)
def test_the_table_routes_every_path_as_the_list_did(path: str) -> None:
    assert route_for(path) == _by_list(path)


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        (b"", False),
        (b"limit=20", False),
        (b"format=csv", True),
        (b"format=xlsx&limit=5", True),
        (b"format=json", False),
        (b"format=", False),
        (b"format=csv&format=json", False),  # the last value counts, as in QueryParams
        (b"reformat=csv", False),
        (b"x=1&format=%63sv", True),  # decoded as Starlette decodes it
    ],
)
def test_an_export_is_asked_for_by_format(query: bytes, wanted: bool) -> None:
    assert _asks_for_file(query) is wanted
