"""The README's token one-liner (#23 papercut): a refused token request shows the server's
answer and fails, instead of a Python KeyError traceback; a granted one prints the token."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _one_liner() -> str:
    found = re.search(r"python3 -c '([^']+)'", README.read_text(encoding="utf-8"))
    assert found, "the README's token example reads the answer with python3 -c"
    return found.group(1)


def _run(answer: dict[str, object]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _one_liner()],
        input=json.dumps(answer),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_refused_token_request_shows_the_server_s_answer() -> None:
    refused = {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
    run = _run(refused)
    assert run.returncode != 0 and run.stdout == ""
    assert "invalid_client" in run.stderr and "wrong secret" in run.stderr
    assert "Traceback" not in run.stderr and "KeyError" not in run.stderr


def test_a_granted_token_is_printed_alone() -> None:
    run = _run({"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 900})
    assert run.returncode == 0 and run.stdout == "a.b.c\n"
