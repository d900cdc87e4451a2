"""The demo's years of history (deploy/history.py) on a stack of its own, as `make run`
loads it: each zone's exports and a campaign for every year since its plan start, an
accepted zone's dossier with them, a handful of enterprises at credit C and D, alerts
raised from notifications and returns with their CAPAs; loading again adds nothing. The
tests' shared stack does not load it (it is seeded only), so this module asks for its own.
With Chromium, the overview's pass-rate trend is read from the page and the screenshot that
becomes docs/overview.png is taken (test-artifacts/screenshots/overview-history.png). Also
the GB 11714 organisation-code check as the gateway answers it, in zh-CN and en."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from deploy import history
from deploy.history import MARK
from deploy.launcher import Stack
from deploy.seed import ZONES
from kit.uscc import check_char, org_check_char
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SHOTS,
    enterprise_body,
    new_uscc,
    office_user,
    running_stack,
    token,
)

ACCEPTED = "stationery-national"
PASSWORD = "a-long-office-password-for-history"
# the module's stack starts, seeds and loads years of history before its first test
pytestmark = pytest.mark.timeout(900)


class Crash(Exception):
    """The loader's process dying mid-way."""


def _unchecked(stack: Stack) -> int:
    """The history's campaigns drawn but without a single check recorded."""
    import asyncpg

    from kit.outbox import asyncpg_dsn

    async def count() -> int:
        conn = await asyncpg.connect(asyncpg_dsn(stack.db_url("inspection")))
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM campaigns c WHERE c.title LIKE '%' || $1 || '%' AND NOT "
                    "EXISTS (SELECT 1 FROM tasks t WHERE t.campaign_id = c.id "
                    "AND t.result IS NOT NULL)",
                    MARK,
                )
            )
        finally:
            await conn.close()

    return asyncio.run(count())


@pytest.fixture(scope="module")
def history_stack() -> Iterator[Stack]:
    """A seeded stack with the history loaded, as `make run` starts on a fresh folder: the
    first load dies in the middle of a year's checks (its campaigns drawn, some checked),
    the next `make run` resumes it."""
    with running_stack("history", seed=True) as s:
        checks = 0
        record_check = history._check

        async def dying(*args: Any, **kwargs: Any) -> None:
            nonlocal checks
            checks += 1
            if checks == 60:
                raise Crash
            await record_check(*args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(history, "_check", dying)
            with pytest.raises(Crash):
                s.load_history()
        assert _unchecked(s) > 0  # what a rerun once took for a history already loaded
        assert s.load_history()
        yield s


@pytest.fixture(scope="module")
def api(history_stack: Stack) -> Iterator[httpx.Client]:
    url = history_stack.url("gateway")
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token(url)}"}, timeout=60
    ) as client:
        yield client


def _all(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(
            path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def _checked_years(start: date) -> range:
    """The years since `start` whose campaign window (April to October) is over."""
    today = date.today()
    last = today.year if date(today.year, 10, 31) < today else today.year - 1
    return range(start.year, last + 1)


def test_every_zone_has_exports_and_a_campaign_each_year(api: httpx.Client) -> None:
    campaigns = Counter(
        (c["zones"][0], c["window_start"][:4])
        for c in _all(api, "/v1/campaigns")
        if MARK in c["title"]
    )
    for code, _, _, _, start, _, _ in ZONES:
        for year in _checked_years(start):
            assert campaigns[(code, str(year))] == 1, (code, year)
            [kpi] = api.get("/v1/risk/kpis", params={"zone": code, "year": year}).json()["items"]
            assert kpi["exports_usd"] > 0, (code, year)
            assert kpi["spot_checks"] > 0, (code, year)
    # the last three years' exports are the batches shipped, before them the surveys'
    [recent] = api.get(
        "/v1/risk/kpis", params={"zone": ACCEPTED, "year": date.today().year - 1}
    ).json()["items"]
    [early] = api.get("/v1/risk/kpis", params={"zone": ACCEPTED, "year": 2018}).json()["items"]
    assert (recent["source"], early["source"]) == ("batches", "surveys")


def test_the_accepted_zone_dossier_shows_the_years(api: httpx.Client) -> None:
    response = api.get(f"/v1/zones/{ACCEPTED}/dossier.xlsx")
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    rows = {r[0]: r for r in book["年度指标 KPIs"].iter_rows(min_row=3, values_only=True)}
    start = next(s for code, _, _, _, s, _, _ in ZONES if code == ACCEPTED)
    for year in _checked_years(start):
        exports, spot_checks = rows[year][2], rows[year][7]
        assert exports > 0 and spot_checks > 0, (year, rows[year])


def test_a_handful_at_c_and_d_and_alerts_with_capas(api: httpx.Client) -> None:
    counts = api.get("/v1/credit/distribution").json()["counts"]
    assert counts["C"] > 0 and counts["D"] > 0
    assert counts["C"] + counts["D"] < (counts["A"] + counts["B"]) / 5  # a handful
    alerts = _all(api, "/v1/risk/alerts")
    kinds = Counter((a["kind"], a["status"]) for a in alerts)
    assert kinds[("foreign_notification", "closed")] and kinds[("return", "closed")]
    assert any(a["status"] != "closed" and a["severity"] == "serious" for a in alerts)
    capas = _all(api, "/v1/capas")
    assert Counter(c["status"] for c in capas)["closed"] > 0


def test_an_interrupted_load_resumed_left_no_campaign_unchecked(history_stack: Stack) -> None:
    assert _unchecked(history_stack) == 0


def test_loading_again_adds_nothing(history_stack: Stack, api: httpx.Client) -> None:
    before = len(_all(api, "/v1/campaigns"))
    assert history_stack.load_history() == {}
    assert len(_all(api, "/v1/campaigns")) == before


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-CN", "组织机构代码校验码错误"), ("en", "organisation code's check character")],
)
def test_a_code_failing_the_organisation_check_is_refused(
    api: httpx.Client, language: str, words: str
) -> None:
    good = new_uscc()
    body = good[:16] + ("0" if org_check_char(good[8:16]) != "0" else "1")
    bad = body + check_char(body)
    answer = api.post(
        "/v1/enterprises", json=enterprise_body(bad), headers={"Accept-Language": language}
    )
    assert answer.status_code == 422, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == ["uscc"]
    assert words in answer.text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not installed")
def test_the_overview_trend_has_years_of_checks(api: httpx.Client, history_stack: Stack) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    from tests.e2e.test_dashboard import _points

    office = office_user(api, PASSWORD)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                base_url=history_stack.url("gateway"), viewport={"width": 1366, "height": 900}
            )
            tab = context.new_page()
            tab.goto("/")
            tab.fill("input[name=username]", office)
            tab.fill("input[name=password]", PASSWORD)
            tab.click("form button[type=submit]")
            tab.wait_for_load_state("networkidle")
            rates = _points(tab, "#chart-trend")
            assert len(rates) >= 4 and all(r is not None and 0 < r <= 100 for r in rates[:-1])
            assert len(set(rates)) > 1  # a trend, not a flat line
            credit = _points(tab, "#chart-credit")
            assert all(p["value"] > 0 for p in credit)  # A, B, C and D
            SHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SHOTS / "overview-history.png"), full_page=True)
            tab.goto(f"/dashboard/zones/{ACCEPTED}")
            tab.wait_for_load_state("networkidle")
            tab.screenshot(path=str(SHOTS / "zone-history.png"), full_page=True)
            context.close()
        finally:
            browser.close()
