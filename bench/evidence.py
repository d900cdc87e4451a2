"""Evidence figures for `make bench`: 5 MiB photos uploaded to `POST /v1/evidence` through
the gateway (the raw body, streamed from the client in 64 KiB pieces), one after another,
then each downloaded back.

Seconds are per upload, from the first byte sent to the 201. Memory is the inspection and
gateway processes' resident size sampled every 20 ms while the uploads run, against their
size just before: the body streams through the gateway and into chunk rows, so it should
stay flat (a 5 MiB file held whole would show as 5 MiB or more).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from bench.credit import log, memory_mb, service_pids
from deploy.launcher import Stack
from tests.helpers import token

PHOTO_BYTES = 5 * 1024 * 1024
UPLOADS = int(os.environ.get("BENCH_EVIDENCE_UPLOADS", "10"))


@dataclass
class EvidenceFigures:
    """The uploads and downloads, measured."""

    uploads: int
    photo_mb: float
    upload_median_s: float
    upload_max_s: float
    download_median_s: float
    inspection_rss_before_mb: float
    inspection_rss_peak_mb: float
    gateway_rss_before_mb: float
    gateway_rss_peak_mb: float


def photo(rng: random.Random) -> bytes:
    """5 MiB with a JPEG's signature and incompressible content, as a camera's photo."""
    return b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00" + rng.randbytes(PHOTO_BYTES - 12)


async def pieces(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


async def scenarios(stack: Stack) -> EvidenceFigures:
    """Upload `UPLOADS` distinct photos, sampling memory, then download each."""
    rng = random.Random(41)
    inspection = service_pids(stack, "inspection")
    gateway = service_pids(stack, "gateway")

    def rss(pids: list[int]) -> float:
        return max(memory_mb(p, "VmRSS") for p in pids)

    before = (rss(inspection), rss(gateway))
    peak = list(before)
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss(inspection))
            peak[1] = max(peak[1], rss(gateway))
            await asyncio.sleep(0.02)

    url = stack.url("gateway")
    headers = {"Authorization": f"Bearer {token(url)}", "Content-Type": "image/jpeg"}
    timeout = aiohttp.ClientTimeout(total=120)
    log(f"uploading {UPLOADS} photos of {PHOTO_BYTES / 2**20:.0f} MiB through the gateway")
    uploads: list[float] = []
    downloads: list[float] = []
    hashes: list[tuple[str, int]] = []
    sampler = asyncio.create_task(sample())
    async with aiohttp.ClientSession(url, timeout=timeout) as session:
        try:
            for _ in range(UPLOADS):
                body = photo(rng)
                started = time.monotonic()
                async with session.post("/v1/evidence", data=pieces(body), headers=headers) as r:
                    answer = await r.json()
                    assert r.status == 201, answer
                uploads.append(time.monotonic() - started)
                hashes.append((answer["sha256"], len(body)))
        finally:
            done.set()
            await sampler
        for sha256, size in hashes:
            started = time.monotonic()
            async with session.get(f"/v1/evidence/{sha256}", headers=headers) as r:
                assert r.status == 200, await r.text()
                got = 0
                async for chunk in r.content.iter_chunked(256 * 1024):
                    got += len(chunk)
            assert got == size
            downloads.append(time.monotonic() - started)
    return EvidenceFigures(
        UPLOADS,
        PHOTO_BYTES / 2**20,
        statistics.median(uploads),
        max(uploads),
        statistics.median(downloads),
        before[0],
        peak[0],
        before[1],
        peak[1],
    )


def report(figures: EvidenceFigures) -> list[str]:
    """Markdown rows."""
    return [
        "",
        f"evidence upload: {figures.uploads} photos of {figures.photo_mb:.0f} MiB, one after "
        "another, raw body through the gateway (PostgreSQL chunk rows); then each downloaded",
        "",
        "| uploads | upload median s | max s | download median s | inspection RSS before MB "
        "| peak MB | gateway RSS before MB | peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {figures.uploads} | {figures.upload_median_s:.2f} | {figures.upload_max_s:.2f} | "
        f"{figures.download_median_s:.2f} | {figures.inspection_rss_before_mb:.0f} | "
        f"{figures.inspection_rss_peak_mb:.0f} | {figures.gateway_rss_before_mb:.0f} | "
        f"{figures.gateway_rss_peak_mb:.0f} |",
    ]
