"""The events' AsyncAPI document, read by the official parser (`@asyncapi/parser`, from npm)
as an agency's tooling would: no diagnostics at all (errors, warnings, even hints)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kit.events import asyncapi

PARSER = "@asyncapi/parser@3.6.0"
SCRIPT = Path(__file__).parent.parent / "tools" / "asyncapi_parse.mjs"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zone-platform" / "npm"


@pytest.fixture(scope="module")
def parser_dir() -> Path:
    """The parser installed once into a cache folder outside the repository."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm and node not installed: apt-get install npm")
    folder = CACHE / PARSER.replace("/", "_")
    if not (folder / "node_modules" / "@asyncapi" / "parser").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(folder),
                PARSER,
            ],
            check=True,
            timeout=600,
        )
    return folder


def test_the_official_parser_finds_nothing_to_say(parser_dir: Path) -> None:
    script = parser_dir / SCRIPT.name  # resolved against the installed node_modules
    shutil.copyfile(SCRIPT, script)
    run = subprocess.run(
        ["node", str(script)],
        input=json.dumps(asyncapi()),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(run.stdout) == []
