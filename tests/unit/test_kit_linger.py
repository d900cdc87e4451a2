"""Which fetched batches a consumer lane holds back for the events behind them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kit.inbox import Consumer, ConsumerRunner


async def _nothing(*_: Any) -> None:
    return None


def _runner(*types: str, linger_s: float = 0.05) -> ConsumerRunner:
    consumer = Consumer("c", "REGISTRY", {t: _nothing for t in types})
    return ConsumerRunner(consumer, None, None, linger_s=linger_s)  # type: ignore[arg-type]


def _batch(*subjects: str) -> list[Any]:
    return [SimpleNamespace(subject=s) for s in subjects]


def test_a_short_routine_batch_lingers_a_full_one_does_not() -> None:
    runner = _runner("registry.enterprise.registered.v1")
    assert runner.lingers(_batch("registry.enterprise.registered"))
    assert not runner.lingers(_batch(*["registry.enterprise.registered"] * 16))
    assert not _runner("registry.enterprise.registered.v1", linger_s=0).lingers(
        _batch("registry.enterprise.registered")
    )


def test_urgent_events_never_wait() -> None:
    # a consumer of urgent types only
    urgent = _runner("inspection.alert.raised.v1", "inspection.alert.closed.v1")
    assert urgent.linger_s == 0
    assert not urgent.lingers(_batch("inspection.alert.raised"))
    # one that mixes them and cannot be split into lanes (credit's `credit-registry`)
    mixed = _runner("registry.enterprise.registered.v1", "registry.commitment.countersigned.v1")
    assert mixed.lingers(_batch("registry.enterprise.registered"))
    assert not mixed.lingers(
        _batch("registry.enterprise.registered", "registry.commitment.countersigned")
    )
