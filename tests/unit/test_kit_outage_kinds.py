"""Which failures are outages (503, backlog, retried) rather than bugs (500)."""

from __future__ import annotations

import asyncpg

from kit.problems import is_outage


def test_a_connection_the_server_dropped_mid_protocol_is_an_outage() -> None:
    # what asyncpg raises when a statement meets the termination notice of a restart
    dropped = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 12; another operation (2) is in progress"
    )
    assert is_outage(dropped)
    assert is_outage(RuntimeError("wrapped")) is False
    try:
        raise RuntimeError("a request's failure") from dropped
    except RuntimeError as wrapped:
        assert is_outage(wrapped)
