"""deploy/launcher.py: where a start's time went, as the launcher prints it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from deploy.launcher import APPS, Stack, _timings


def test_the_stages_add_up_and_a_stages_parts_are_not_added_again() -> None:
    line = _timings(
        {
            "postgresql, nats": 2.0,
            "services": 30.25,
            "history: registry": 10.0,
            "history: inspection": 20.0,
            "history": 31.0,
        }
    )
    assert line.startswith("ready in 63.2 s (")
    assert "services 30.2" in line or "services 30.3" in line
    assert "history: registry 10.0 · history: inspection 20.0 · history 31.0" in line


def test_a_stage_is_timed_even_when_it_fails(tmp_path: Path) -> None:
    stack = Stack(data_dir=tmp_path)
    with pytest.raises(RuntimeError), stack._stage("seed"):
        time.sleep(0.01)
        raise RuntimeError("seed failed")
    assert stack.timings["seed"] >= 0.01


def test_services_start_together_and_one_that_exits_is_started_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = Stack(data_dir=tmp_path)
    calls: list[str] = []
    failed: set[str] = set()

    def spawn(name: str, env: dict[str, str] | None = None) -> None:
        calls.append(f"spawn {name}")

    def wait_live(name: str, timeout: float = 60) -> None:
        calls.append(f"live {name}")
        if name == "credit" and name not in failed:
            failed.add(name)
            raise RuntimeError("process exited with 3 during start-up")

    monkeypatch.setattr(stack, "_spawn", spawn)
    monkeypatch.setattr(stack, "_wait_live", wait_live)
    stack.start_services()
    services = [n for n in APPS if n != "gateway"]
    # the gateway first and live, then every service spawned before any is waited for
    assert calls[:2] == ["spawn gateway", "live gateway"]
    assert calls[2 : 2 + len(services)] == [f"spawn {n}" for n in services]
    assert calls.count("spawn credit") == 2 and calls.count("live credit") == 2


def test_a_service_failing_twice_fails_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = Stack(data_dir=tmp_path)

    def wait_live(name: str, timeout: float = 60) -> None:
        if name == "notify":
            raise RuntimeError("process exited with 3 during start-up")

    monkeypatch.setattr(stack, "_spawn", lambda name, env=None: None)
    monkeypatch.setattr(stack, "_wait_live", wait_live)
    with pytest.raises(RuntimeError, match="during start-up"):
        stack.start_services()
