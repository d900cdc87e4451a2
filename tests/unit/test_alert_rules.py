"""The alert rules in deploy/prometheus/ are valid (`promtool check rules`) and do what they
say (`promtool test rules` on deploy/prometheus/tests/): every alert has a case that fires it.

promtool comes with Debian's `prometheus` package (`.ci/run` installs it); without it the
promtool tests skip, saying so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_FILES = sorted(RULES.glob("*.yaml"))
RULE_TESTS = sorted((RULES / "tests").glob("*.yaml"))
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed: apt-get install prometheus"
)


def _alerts() -> set[str]:
    return {
        rule["alert"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def _cases() -> list[dict[str, object]]:
    return [
        case
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, cwd=RULES)


def test_every_alert_has_a_case_that_fires_it() -> None:
    assert RULE_FILES and RULE_TESTS
    fired = {c["alertname"] for c in _cases() if c.get("exp_alerts")}
    assert fired >= _alerts(), sorted(_alerts() - fired)
    unknown = {c["alertname"] for c in _cases()} - _alerts()
    assert not unknown, f"cases for alerts no rule file defines: {sorted(unknown)}"


def test_every_rule_test_loads_the_rule_files() -> None:
    for path in RULE_TESTS:
        loaded = {
            (path.parent / name).resolve()
            for name in yaml.safe_load(path.read_text())["rule_files"]
        }
        assert loaded == {f.resolve() for f in RULE_FILES}, path.name


@needs_promtool
def test_promtool_accepts_the_rule_files() -> None:
    checked = _promtool("check", "rules", *(str(f) for f in RULE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@needs_promtool
def test_promtool_rule_tests_pass() -> None:
    tested = _promtool("test", "rules", *(str(f) for f in RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(RULE_TESTS), tested.stdout
