"""deploy/launcher.py: where a start's time went, as the launcher prints it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from deploy.launcher import Stack, _timings


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
