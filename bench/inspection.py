"""Inspection figures for `make bench`: a county-sized draw and an officer's sync pull.

Loads 100,000 directory entries (levels A 20 %, B 60 %, C 15 %, D 5 %; 20 supervising
units) and 500 inspectors (two agencies, the same 20 units, a conflict each) straight into the
inspection database, then
  1. POST /v1/campaigns/{id}/draw over all of them (ratios A 5 %, B 10 %, C 30 %, D 100 %,
     two inspectors per task): wall time, tasks, and the inspection processes' peak memory;
     then the replay (`/draw/verify`);
  2. GET /v1/sync for an inspector with 200 open tasks, at one connection: p50/p99.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import aiohttp
import asyncpg

from bench.credit import memory_mb, service_pids
from deploy.launcher import Stack
from kit.ids import uuid7
from kit.outbox import asyncpg_dsn
from kit.uscc import generate

ENTERPRISES = 100_000
INSPECTORS = 500
UNITS = [f"station-{i:02d}" for i in range(20)]


@dataclass
class DrawFigures:
    """The draw, measured."""

    enterprises: int
    inspectors: int
    tasks: int
    draw_s: float
    verify_s: float
    rss_before_mb: float
    peak_rss_mb: float


async def load(stack: Stack, rng: random.Random) -> tuple[list[str], list[uuid.UUID]]:
    """COPY the directory and the pool; returns USCCs and inspector ids."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("inspection")))
    now = datetime.now(UTC)
    usccs = sorted({generate(rng) for _ in range(ENTERPRISES * 2)})[:ENTERPRISES]
    try:
        await conn.copy_records_to_table(
            "directory",
            columns=["uscc", "name", "industry", "zones", "level", "unit", "updated_at"],
            records=[
                (
                    u,
                    f"基准企业{i:06d}",
                    "lighting",
                    [],
                    rng.choices("ABCD", (20, 60, 15, 5))[0],
                    rng.choice(UNITS),
                    now,
                )
                for i, u in enumerate(usccs)
            ],
        )
        inspector_ids = [uuid7() for _ in range(INSPECTORS)]
        await conn.copy_records_to_table(
            "inspectors",
            columns=[
                "id",
                "agency",
                "badge_number",
                "name",
                "unit",
                "specialties",
                "active",
                "version",
                "created_at",
            ],
            records=[
                (
                    iid,
                    "market_supervision" if n % 2 else "ciq",
                    f"BENCH{n:06d}",
                    f"检查员{n}",
                    UNITS[n % len(UNITS)],
                    ["lighting"],
                    True,
                    1,
                    now,
                )
                for n, iid in enumerate(inspector_ids)
            ],
        )
        await conn.copy_records_to_table(
            "inspector_conflicts",
            columns=["id", "inspector_id", "uscc", "reason", "valid_from", "created_at"],
            records=[
                (uuid7(), iid, rng.choice(usccs), "亲属关系", date(2026, 1, 1), now)
                for iid in inspector_ids
            ],
        )
        await conn.execute("ANALYZE directory; ANALYZE inspectors; ANALYZE inspector_conflicts")
    finally:
        await conn.close()
    return usccs, inspector_ids


async def drawing(stack: Stack, bearer: str) -> tuple[DrawFigures, str]:
    """Plan a campaign over everyone and draw it; returns the figures and the campaign id."""
    headers = {"Authorization": f"Bearer {bearer}"}
    async with aiohttp.ClientSession(stack.url("inspection"), headers=headers) as session:
        async with session.post(
            "/v1/checklists",
            json={
                "code": "bench-lighting",
                "industry": "lighting",
                "title": "灯具",
                "items": [
                    {"code": "LED-01", "title": "t", "legal_basis": "GB 7000.1", "criterion": "c"}
                ],
            },
        ) as r:
            checklist = await r.json()
        today = date.today()
        async with session.post(
            "/v1/campaigns",
            json={
                "title": "bench",
                "agencies": ["market_supervision", "ciq"],
                "checklist_id": checklist["id"],
                "window_start": str(today),
                "window_end": str(today + timedelta(days=60)),
            },
        ) as r:
            campaign = await r.json()
        pids = service_pids(stack, "inspection")
        before = max(memory_mb(p, "VmRSS") for p in pids)
        started = time.perf_counter()
        async with session.post(f"/v1/campaigns/{campaign['id']}/draw") as r:
            drawn = await r.json()
            assert r.status == 200, drawn
        draw_s = time.perf_counter() - started
        started = time.perf_counter()
        async with session.get(f"/v1/campaigns/{campaign['id']}/draw/verify") as r:
            verified = await r.json()
            assert verified["matches"], verified
        verify_s = time.perf_counter() - started
        peak = max(memory_mb(p, "VmHWM") for p in pids)
    figures = DrawFigures(ENTERPRISES, INSPECTORS, drawn["tasks"], draw_s, verify_s, before, peak)
    return figures, campaign["id"]


async def officer_with_tasks(
    stack: Stack, campaign_id: str, usccs: list[str], n: int = 200
) -> uuid.UUID:
    """A new inspector with `n` open tasks of the campaign."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("inspection")))
    officer, partner = uuid7(), uuid7()
    try:
        now = datetime.now(UTC)
        await conn.executemany(
            "INSERT INTO inspectors (id, agency, badge_number, name, specialties, active, version,"
            " created_at) VALUES ($1, 'ciq', $2, $3, '{}', false, 1, $4)",
            [
                (officer, f"SYNC{officer.hex[-10:]}", "同步测试", now),
                (partner, f"SYNC{partner.hex[-10:]}", "同步测试", now),
            ],
        )
        checklist = await conn.fetchval(
            "SELECT checklist_id FROM campaigns WHERE id = $1", uuid.UUID(campaign_id)
        )
        await conn.copy_records_to_table(
            "tasks",
            columns=[
                "id",
                "campaign_id",
                "checklist_id",
                "uscc",
                "level",
                "inspector_ids",
                "status",
                "version",
                "updated_at",
            ],
            records=[
                (
                    uuid7(),
                    uuid.UUID(campaign_id),
                    checklist,
                    u,
                    "B",
                    [officer, partner],
                    "open",
                    1,
                    now,
                )
                for u in random.Random(3).sample(usccs, n)
            ],
        )
    finally:
        await conn.close()
    return officer


def report(figures: DrawFigures) -> list[str]:
    """Markdown rows."""
    return [
        "",
        f"inspection draw: {figures.enterprises:,} enterprises, {figures.inspectors} inspectors",
        "",
        "| tasks drawn | draw s | verify s | RSS before MB | peak RSS MB |",
        "|---:|---:|---:|---:|---:|",
        f"| {figures.tasks} | {figures.draw_s:.2f} | {figures.verify_s:.2f} | "
        f"{figures.rss_before_mb:.0f} | {figures.peak_rss_mb:.0f} |",
    ]
