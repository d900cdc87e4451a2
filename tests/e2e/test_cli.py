"""The operator CLI (`zone`, deploy/cli.py) against the session's stack, as a subprocess the
way an operator runs it: each command once, the result on stdout (JSON with --json),
messages on stderr, and the exit codes of its failures (1 usage, 2 not found, 3 refused,
4 conflict/invalid, 5 unavailable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from deploy.launcher import Stack

ZONE = "lighting-provincial"


def zone(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; `env` adds to (or, with an empty value, removes from) the environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZONE_")}
    for key, value in (env or {}).items():
        if value:
            environ[key] = value
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def at(gateway_url: str) -> dict[str, str]:
    """The environment pointing the CLI at the stack's gateway."""
    return {"ZONE_URL": gateway_url}


def ok(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
    return run


def as_json(run: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(ok(run).stdout)


def test_help_names_every_command_and_the_exit_codes() -> None:
    run = ok(zone("--help"))
    for command in (
        "run",
        "migrate",
        "seed",
        "client",
        "user",
        "token",
        "draw",
        "audit",
        "dossier",
        "rescore",
    ):
        assert command in run.stdout
    assert "Exit codes: 0 ok, 1 usage, 2 not found, 3 refused" in " ".join(run.stdout.split())
    assert "--format" in ok(zone("dossier", "--help")).stdout
    assert "Ctrl-C" in ok(zone("run", "--help")).stdout
    usage = zone("dossier")  # the zone is missing
    assert usage.returncode == 1 and "Missing argument" in usage.stderr
    assert zone("dossier", ZONE, "--format", "doc").returncode == 1
    script = Path(sys.executable).parent / "zone"  # the console script pip installed
    assert script.exists(), "pip install -e . installs the `zone` console script"
    assert subprocess.run([script, "--help"], capture_output=True, check=False).returncode == 0


def test_token_on_stdout_and_refused_credentials(at: dict[str, str], gateway_url: str) -> None:
    run = ok(zone("token", env=at))
    token = run.stdout.strip()
    assert token.count(".") == 2 and "demo-admin" in run.stderr  # the message on stderr
    assert (
        httpx.get(
            f"{gateway_url}/v1/zones/{ZONE}", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    answer = as_json(zone("token", "--scope", "registry:read", "--json", env=at))
    assert answer["scope"] == "registry:read" and answer["token_type"].lower() == "bearer"
    bad = zone("--client-secret", "wrong-secret-123", "token", env=at)
    assert bad.returncode == 3 and bad.stdout == "" and "401" in bad.stderr
    down = zone("token", env={"ZONE_URL": "http://127.0.0.1:9"})
    assert down.returncode == 5 and "cannot reach the gateway" in down.stderr
    default = zone("token")  # no --url, no $ZONE_URL: the default is said, not silently used
    assert "gateway: http://127.0.0.1:8000 (default" in default.stderr


def test_client_and_user_create(at: dict[str, str]) -> None:
    client_id = f"cli-{uuid.uuid4().hex[:8]}"
    created = zone(
        "client",
        "create",
        client_id,
        "--name",
        "宁海海关 CLI 测试",
        "--scope",
        "registry:read",
        "--scope",
        "inspection:read",
        "--agency",
        "ciq",
        env=at,
    )
    secret = ok(created).stdout.strip()
    assert len(secret) >= 20 and "shown only now" in created.stderr
    own = as_json(
        zone("--client-id", client_id, "--client-secret", secret, "--json", "token", env=at)
    )
    assert set(own["scope"].split()) == {"registry:read", "inspection:read"}
    again = zone("client", "create", client_id, "--name", "x", "--scope", "registry:read", env=at)
    assert again.returncode == 4 and "409" in again.stderr  # the id exists
    refused = zone("--client-id", client_id, "--client-secret", secret, "audit", "verify", env=at)
    assert refused.returncode == 3 and "403" in refused.stderr  # not an admin

    username = f"cli.{uuid.uuid4().hex[:8]}"
    user = as_json(
        zone(
            "user",
            "create",
            username,
            "--name",
            "李娜",
            "--scope",
            "registry:read",
            "--agency",
            "commerce",
            "--json",
            env={**at, "ZONE_USER_PASSWORD": "correct-horse-battery"},
        )
    )
    assert user["username"] == username and user["kind"] == "office" and "password" not in user
    short = zone(
        "user",
        "create",
        f"{username}x",
        "--name",
        "x",
        "--scope",
        "registry:read",
        "--password",
        "short",
        env=at,
    )
    assert short.returncode == 4 and "422" in short.stderr


def test_audit_verify(at: dict[str, str]) -> None:
    assert ok(zone("audit", "verify", env=at)).stdout.strip() == "ok"
    check = as_json(zone("--json", "audit", "verify", env=at))
    assert check["ok"] is True and check["checked"] > 0 and check["first_broken"] is None


def test_draw_verify(at: dict[str, str], api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    for n in range(2):
        created = api.post(
            "/v1/inspectors",
            json={
                "agency": "ciq",
                "badge_number": f"3303{uuid.uuid4().int % 10**10:010d}",
                "name": f"命令行检查员{n}",
                "unit": f"CLI{tag}{n}",
                "specialties": ["lighting"],
            },
        )
        assert created.status_code == 201, created.text
    checklist = api.post(
        "/v1/checklists",
        json={
            "code": f"cli-{tag}",
            "industry": "lighting",
            "title": "灯具出口监督抽查",
            "items": [
                {
                    "code": "LED-01",
                    "title": "标志和说明",
                    "legal_basis": "GB 7000.1-2015 §3",
                    "criterion": "齐全",
                }
            ],
        },
    )
    assert checklist.status_code == 201, checklist.text
    campaign = api.post(
        "/v1/campaigns",
        json={
            "title": f"命令行抽查{tag}",
            "agencies": ["ciq"],
            "zones": [ZONE],
            "industries": ["lighting"],
            "checklist_id": checklist.json()["id"],
            "ratios": {"A": 0.05, "B": 0.05, "C": 0.05, "D": 0.05},
            "window_start": str(date.today()),
            "window_end": str(date.today() + timedelta(days=30)),
        },
    )
    assert campaign.status_code == 201, campaign.text
    campaign_id = campaign.json()["id"]
    drawn = api.post(f"/v1/campaigns/{campaign_id}/draw")
    assert drawn.status_code == 200, drawn.text

    run = ok(zone("draw", "verify", campaign_id, env=at))
    assert run.stdout.strip() == "match" and "verifies" in run.stderr
    check = as_json(zone("--json", "draw", "verify", campaign_id, env=at))
    assert check["matches"] and check["tasks_match"] and check["seed_matches_commitment"]
    missing = zone("draw", "verify", str(uuid.uuid4()), env=at)
    assert missing.returncode == 2 and "404" in missing.stderr


def test_dossier_downloads(at: dict[str, str], gateway_url: str, tmp_path: Path) -> None:
    target = tmp_path / "zone.xlsx"
    # the global --url after the command, as people type it; the target named on stderr
    run = ok(
        zone("dossier", ZONE, "--format", "xlsx", "--output", str(target), "--url", gateway_url)
    )
    assert run.stdout.strip() == str(target)
    assert f"gateway: {gateway_url}" in run.stderr
    book = load_workbook(target)
    assert "成员企业 Members" in book.sheetnames
    assert book["概况 Zone"]["B3"].value == "出口灯具质量安全示范区（省级）"
    assert book["成员企业 Members"].max_row > 3  # the seeded members

    described = as_json(zone("--json", "dossier", ZONE, env=at, cwd=tmp_path))
    written = tmp_path / described["path"]
    assert described["format"] == "pdf" and written.name.startswith(f"dossier-{ZONE}-")
    assert written.read_bytes()[:5] == b"%PDF-" and described["bytes"] == written.stat().st_size
    missing = zone("dossier", "no-such-zone", env=at, cwd=tmp_path)
    assert missing.returncode == 2 and "404" in missing.stderr
    assert not list(tmp_path.glob("dossier-no-such-zone*"))  # nothing written on failure


def test_rescore_follows_the_job_to_its_end(at: dict[str, str]) -> None:
    job = as_json(zone("--json", "rescore", env=at, timeout=600))
    assert job["status"] == "done" and job["reason"] == "manual"
    assert job["total"] > 0 and job["processed"] == job["total"]
    queued = as_json(zone("rescore", "--no-wait", "--json", env=at))
    assert queued["status"] in ("queued", "running", "done", "superseded")


def test_migrate_and_seed_against_the_stack_database(stack: Stack) -> None:
    database = {"ZONE_DATABASE_URL": stack.pg_root_url}
    migrated = as_json(zone("migrate", "--json", env=database))
    assert {"registry", "credit", "inspection", "notify", "gateway"} <= set(migrated["migrated"])
    counts = as_json(zone("--json", "seed", env=database))  # seeded at start: nothing new
    assert counts["zones"] == 0 and counts["enterprises"] == 0 and counts["labs"] == 0
    down = zone("migrate", env={"ZONE_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:9"})
    assert down.returncode == 5 and "PostgreSQL is not reachable" in down.stderr
