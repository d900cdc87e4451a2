"""The office dashboard in a real browser (Debian's headless Chromium through Playwright)
against the whole stack: an office user made through the API signs in through the form, opens
every page, moves a zone through the UI (checked through the API), verifies a draw, works the
alerts queue, reads the audit trail, switches to English; charts must render with data.
Screenshots of each page go to test-artifacts/screenshots/.

Skipped, and only these tests, where Chromium is not installed (`.ci/run` installs it); the
dashboard's checks that need no browser are in test_dashboard_http.py and always run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from kit.vocabulary import china_time
from tests.helpers import (
    codes_shown,
    enterprise_body,
    known_codes,
    new_uscc,
    office_user,
    playwright_or_skip,
    png,
    record_and_confirm,
    screenshot,
    wait_until,
)

playwright_or_skip()

ZONE = "lighting-provincial"
PASSWORD = "a-long-office-password-for-tests"
NDJSON = {"Content-Type": "application/x-ndjson"}


def _at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


@pytest.fixture(scope="module")
def office(admin: httpx.Client) -> str:
    """An office user with every scope, made through the API as the office would."""
    return office_user(admin, PASSWORD)


@pytest.fixture(scope="module")
def scene(admin: httpx.Client, gateway_url: str) -> dict[str, Any]:
    """What the pages should show: a member with a traced batch and a commitment, a drawn
    campaign with a passed check, an alert from a notification, and an unmatched signal."""
    tag = uuid.uuid4().hex[:6].upper()
    maker = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(maker)).raise_for_status()
    mid = admin.post(f"/v1/zones/{ZONE}/applications", json={"uscc": maker}).json()["id"]
    admin.post(f"/v1/memberships/{mid}/decision", json={"decision": "admit"}).raise_for_status()
    admin.post(
        f"/v1/enterprises/{maker}/commitments",
        json={
            "zone_code": ZONE,
            "signatory": "王伟",
            "signed_on": str(date.today()),
            "text_version": "2017-v1",
            "text": "本企业承诺严格执行出口产品质量安全法律法规。",
        },
    ).raise_for_status()
    resin = f"RESIN-{tag}"
    admin.post(
        "/v1/batches",
        json={"uscc": maker, "number": resin, "kind": "supplier", "supplier_uscc": new_uscc()},
    ).raise_for_status()
    batch = admin.post(
        "/v1/batches",
        json={
            "uscc": maker,
            "number": f"NB-{tag}",
            "product": "LED 吸顶灯",
            "hs_code": "940542",
            "destination": "DE",
            "ship_date": str(date.today() - timedelta(days=3)),
            "export_value_usd": 2_000_000,
        },
    ).json()
    steps = [
        {"type": "object", "biz_step": "receiving", "lots": [resin], "event_time": _at(50)},
        {
            "type": "transformation",
            "biz_step": "assembling",
            "inputs": [{"lot": resin, "quantity": 300, "unit": "kg"}],
            "outputs": [{"lot": f"NB-{tag}", "quantity": 12000, "unit": "pcs"}],
            "event_time": _at(40),
        },
    ]
    import json

    uploaded = admin.post(
        f"/v1/batches/{batch['id']}/events",
        content="".join(json.dumps(s) + "\n" for s in steps),
        headers=NDJSON,
    )
    assert uploaded.status_code == 200 and uploaded.json()["accepted"] == 2, uploaded.text

    checklist = admin.post(
        "/v1/checklists",
        json={
            "code": f"dash-{tag.lower()}",
            "industry": "lighting",
            "title": "灯具出口监督抽查",
            "items": [
                {"code": "LED-01", "title": "标志", "legal_basis": "GB 7000.1", "criterion": "齐全"}
            ],
        },
    ).json()
    inspectors = []
    for n in range(3):
        created = admin.post(
            "/v1/inspectors",
            json={
                "agency": "market_supervision",
                "badge_number": f"3301{uuid.uuid4().int % 10**10:010d}",
                "name": f"看板检查员{n}",
                "unit": f"看板{n}所",
                "specialties": ["lighting"],
            },
        )
        assert created.status_code == 201, created.text
        inspectors.append(created.json())
    campaign = admin.post(
        "/v1/campaigns",
        json={
            "title": f"看板测试抽查 {tag}",
            "agencies": ["market_supervision"],
            "zones": [ZONE],
            "industries": ["lighting"],
            "checklist_id": checklist["id"],
            "ratios": {"A": 0.05, "B": 0.05, "C": 0.05, "D": 0.05},
            "window_start": str(date.today()),
            "window_end": str(date.today() + timedelta(days=30)),
        },
    ).json()
    drawn = admin.post(f"/v1/campaigns/{campaign['id']}/draw")
    assert drawn.status_code == 200, drawn.text
    task = admin.get("/v1/tasks", params={"campaign_id": campaign["id"]}).json()["items"][0]
    record_and_confirm(
        admin,
        gateway_url,
        task,
        {
            "findings": [{"item": "LED-01", "outcome": "pass"}],
            "verdict": "pass",
            "location": {"lat": 29.28, "lon": 121.43, "accuracy_m": 10},
        },
        photos=(png(16, 16),),
    )

    unmatched = admin.post(
        "/v1/risk/signals",
        json={"kind": "complaint", "brand": f"Nobody{tag}", "description": "灯不亮"},
    ).json()
    to_link = admin.post(
        "/v1/risk/signals",
        json={"kind": "complaint", "brand": f"Elsewhere{tag}", "description": "外壳开裂"},
    ).json()
    assert unmatched["status"] == to_link["status"] == "unmatched"
    notification = admin.post(
        "/v1/risk/signals",
        json={
            "kind": "foreign_notification",
            "reference": f"DASH/{tag}",
            "notifying_country": "DE",
            "risk_level": "high",
            "batch_number": f"NB-{tag}",
        },
    ).json()
    alert_id = wait_until(
        lambda: admin.get(f"/v1/risk/signals/{notification['id']}").json().get("alert_id"),
        what="the alert",
    )
    # credit has scored the maker with at least one fact (the commitment or the notice)
    wait_until(
        lambda: admin.get(f"/v1/credit/enterprises/{maker}").json().get("contributions"),
        what="credit contributions",
        timeout=30,
    )
    return {
        "maker": maker,
        "batch": batch,
        "campaign": campaign,
        "unmatched": unmatched,
        "to_link": to_link,
        "alert_id": alert_id,
    }


@pytest.fixture
def page(browser: Any, gateway_url: str, office: str) -> Iterator[Any]:
    """A signed-in page (through the sign-in form)."""
    context = browser.new_context(base_url=gateway_url, viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    _sign_in(tab, office)
    yield tab
    context.close()


def _sign_in(tab: Any, username: str, password: str = PASSWORD) -> None:
    tab.goto("/")
    assert "/dashboard/login" in tab.url
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", password)
    tab.click("form button[type=submit]")
    tab.wait_for_load_state("networkidle")


def _shot(tab: Any, name: str) -> None:
    screenshot(tab, name)


def _points(tab: Any, selector: str, series: int = 0) -> list[Any]:
    """The data of a rendered chart's series, read from ECharts itself."""
    tab.wait_for_selector(f"{selector}[data-rendered] canvas")
    return tab.evaluate(  # type: ignore[no-any-return]
        "([sel, i]) => echarts.getInstanceByDom(document.querySelector(sel))"
        ".getOption().series[i].data",
        [selector, series],
    )


def test_sign_in_and_the_overview_charts(
    browser: Any, gateway_url: str, office: str, scene: dict[str, Any]
) -> None:
    context = browser.new_context(base_url=gateway_url, viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    _sign_in(tab, office, "not-the-password")
    assert tab.inner_text("#login-error") == "用户名或密码错误"
    tab.fill("input[name=username]", office)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_load_state("networkidle")
    assert tab.url.rstrip("/") == gateway_url.rstrip("/")
    cookie = next(c for c in context.cookies() if c["name"] == "zone_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    assert "示范区建设总览" in tab.inner_text("h1")
    assert int(tab.inner_text("#fig-enterprises .value").replace(",", "")) > 0
    assert int(tab.inner_text("#fig-alerts .value").replace(",", "")) >= 1
    credit = _points(tab, "#chart-credit")
    assert len(credit) == 4 and sum(p["value"] for p in credit) > 0
    zones = _points(tab, "#chart-zones")
    assert len(zones) == 6 and sum(zones) > 0
    rates = _points(tab, "#chart-trend")
    assert len(rates) > 0 and rates[-1] is not None and 0 <= rates[-1] <= 100  # this year's
    assert tab.locator("#timeline .chip").count() >= 10  # the seeded zones on their phases
    # the guidance's targets against the zones accepted, and the zones past their plan's end
    national = tab.locator('#targets-table tr.target[data-level="national"]')
    assert national.get_attribute("data-target") == "2"
    assert national.get_attribute("data-accepted") == "1"
    overdue = tab.locator("#overdue-zones tr.overdue-zone")
    assert tab.locator('#overdue-zones tr[data-code="auto_parts-national"]').count() == 1
    assert overdue.count() >= 3
    assert tab.locator("#timeline .chip .badge.overdue").count() >= 3
    _shot(tab, "overview")
    context.close()


def test_a_zone_page_and_a_transition_made_in_the_ui(
    page: Any, admin: httpx.Client, office: str, scene: dict[str, Any]
) -> None:
    page.goto(f"/dashboard/zones/{ZONE}")
    assert page.locator("#members tr").count() > 1
    assert page.locator("#kpis dl.facts").count() == 1  # this year's figures of the zone
    assert page.locator(".checklist tr").count() > 3  # the work plan's stage tasks
    _shot(page, "zone")

    code = f"dash-{uuid.uuid4().hex[:8]}"
    created = admin.post(
        "/v1/zones",
        json={
            "code": code,
            "name_zh": "看板测试示范区",
            "name_en": "Dashboard test zone",
            "industry": "molds",
            "level": "provincial",
        },
    )
    assert created.status_code == 201, created.text
    page.goto(f"/dashboard/zones/{code}")
    assert page.get_attribute("#zone-stage", "data-stage") == "planned"
    # tick a stage task (HTMX): the registry records who; the form's version follows the change
    version = page.get_attribute("#zone-version", "value")
    page.fill("#task-survey .task-form input[name=note]", "已完成摸底调查")
    page.click("#task-survey .task-form button")
    page.wait_for_selector("#task-survey.done")
    assert f"user:{office}" in page.inner_text("#task-survey")
    assert page.get_attribute("#zone-version", "value") != version
    survey = next(
        t for t in admin.get(f"/v1/zones/{code}").json()["tasks"] if t["task_code"] == "survey"
    )
    assert survey["done_by"] == f"user:{office}" and survey["note"] == "已完成摸底调查"
    page.select_option("#transition-form select[name=to]", "launching")
    page.fill("#transition-form input[name=reason]", "县领导小组批准启动建设")
    page.click("#transition-form button[type=submit]")
    page.wait_for_selector("#moved")
    assert page.get_attribute("#zone-stage", "data-stage") == "launching"
    zone = admin.get(f"/v1/zones/{code}").json()
    assert zone["stage"] == "launching"
    moves = admin.get(f"/v1/zones/{code}/transitions").json()["items"]
    assert [(m["to_stage"], m["actor"], m["reason"]) for m in moves] == [
        ("launching", f"user:{office}", "县领导小组批准启动建设")
    ]
    assert f"user:{office}" in page.inner_text("#transitions")


def test_the_enterprise_page_with_contributions_and_a_trace_graph(
    page: Any, scene: dict[str, Any]
) -> None:
    page.goto(f"/dashboard/enterprises/{scene['maker']}")
    assert page.inner_text("#enterprise-name").startswith("宁海测试企业")
    assert "王伟" in page.inner_text("#commitments")
    contributions = _points(page, "#chart-contributions")
    assert len(contributions) > 0
    graph = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('#chart-trace'))"
        ".getOption().series[0]"
    )
    assert {n["name"] for n in graph["data"]} >= {scene["batch"]["number"]}
    assert len(graph["data"]) >= 2 and len(graph["links"]) >= 1
    _shot(page, "enterprise")


def test_campaigns_and_verifying_a_draw(page: Any, scene: dict[str, Any]) -> None:
    page.goto(f"/dashboard/campaigns?campaign={scene['campaign']['id']}")
    assert page.locator("#draw-list tr").count() > 1
    assert "合格" in page.inner_text("#results")
    page.click("#verify-button")
    page.wait_for_selector("#verify-ok")
    assert page.get_attribute("#verify-ok", "data-matches") == "true"
    _shot(page, "campaigns")


def test_the_alerts_queue_dismisses_and_moves_through_the_api(
    page: Any, admin: httpx.Client, scene: dict[str, Any]
) -> None:
    page.goto("/dashboard/alerts")
    signal_row = f"#signal-{scene['unmatched']['id']}"
    alert_row = f"#alert-{scene['alert_id']}"
    while not page.locator(signal_row).count() and page.locator("a.next-signals_cursor").count():
        page.click("a.next-signals_cursor")  # the queue is paged oldest first
    _shot(page, "alerts")
    page.fill(f"{signal_row} .dismiss-form input[name=reason]", "非本区企业产品")
    page.click(f"{signal_row} .dismiss-form button")
    page.wait_for_selector(f"{signal_row} .s-dismissed")
    signal = admin.get(f"/v1/risk/signals/{scene['unmatched']['id']}").json()
    assert signal["status"] == "dismissed" and signal["note"] == "非本区企业产品"

    link_row = f"#signal-{scene['to_link']['id']}"
    page.goto("/dashboard/alerts")
    while not page.locator(link_row).count() and page.locator("a.next-signals_cursor").count():
        page.click("a.next-signals_cursor")
    page.fill(f"{link_row} .link-form input[name=uscc]", scene["maker"])
    page.fill(f"{link_row} .link-form input[name=batch_id]", "")
    page.click(f"{link_row} .link-form button")
    page.wait_for_selector(f"{link_row} .s-matched")
    linked = admin.get(f"/v1/risk/signals/{scene['to_link']['id']}").json()
    assert linked["status"] == "matched" and linked["uscc"] == scene["maker"]
    assert linked["match_method"] == "manual" and linked["alert_id"]

    page.goto("/dashboard/alerts?status=open")
    while not page.locator(alert_row).count() and page.locator("a.next-alerts_cursor").count():
        page.click("a.next-alerts_cursor")
    page.click(f"{alert_row} .investigate-form button")
    page.wait_for_selector(f"{alert_row} .s-investigating")
    assert admin.get(f"/v1/risk/alerts/{scene['alert_id']}").json()["status"] == "investigating"
    page.fill(f"{alert_row} .close-form input[name=conclusion]", "批次已召回，整改完成")
    page.click(f"{alert_row} .close-form button")
    page.wait_for_selector(f"{alert_row} .s-closed")
    closed = admin.get(f"/v1/risk/alerts/{scene['alert_id']}").json()
    assert closed["status"] == "closed" and closed["conclusion"] == "批次已召回，整改完成"


def test_the_audit_trail_names_the_user_of_each_dashboard_action(
    page: Any, office: str, gateway_url: str
) -> None:
    page.goto(f"/dashboard/audit?actor=user:{office}")
    text = page.inner_text("#audit")
    assert "/dashboard/" in text and f"user:{office}" in text
    _shot(page, "audit")
    with httpx.Client(base_url=gateway_url) as anonymous:  # denials are audited: a 2nd page
        for _ in range(55):
            assert anonymous.get("/v1/zones").status_code == 401
    page.goto("/dashboard/audit")
    first = [int(s) for s in page.locator("#audit tr td:first-child").all_inner_texts()]
    assert len(first) == 50 and first == sorted(first, reverse=True)
    page.click("a.next-cursor")
    second = [int(s) for s in page.locator("#audit tr td:first-child").all_inner_texts()]
    assert second and max(second) < min(first)


# every page of the dashboard, once per language
_PAGES = (
    ("overview", "/"),
    ("zone", f"/dashboard/zones/{ZONE}"),
    ("enterprise", "/dashboard/enterprises/{maker}"),
    ("enterprises", "/dashboard/enterprises"),
    ("campaigns", "/dashboard/campaigns"),
    ("alerts", "/dashboard/alerts"),
    ("audit", "/dashboard/audit"),
)


def test_pages_show_names_in_both_languages_never_codes(
    browser: Any, gateway_url: str, office: str, admin: httpx.Client, scene: dict[str, Any]
) -> None:
    """One load of every page per language: every code the pages could show (zones,
    industries, stages, levels, agencies, tasks, kinds, statuses) is named, in zh-CN as in
    en, and times are China time."""
    codes, zones = known_codes(admin)
    maker = scene["maker"]
    zone = admin.get(f"/v1/zones/{ZONE}").json()
    named = (zone["name_zh"], zone["name_en"])
    for lang in ("zh-CN", "en"):
        context = browser.new_context(base_url=gateway_url, viewport={"width": 1366, "height": 900})
        tab = context.new_page()
        _sign_in(tab, office)
        tab.goto(f"/?lang={lang}")  # the choice is remembered for the other pages
        for name, path in _PAGES:
            tab.goto(path.format(maker=maker))
            tab.wait_for_load_state("networkidle")
            text = tab.inner_text("main")
            _shot(tab, f"names-{name}-{lang}")
            shown = codes_shown(text, codes, zones, chinese=lang == "zh-CN")
            assert not shown, f"{name} ({lang}) shows codes: {sorted(shown)}"
            if name == "zone":
                links = tab.locator("#dossier-links a")
                assert [links.nth(i).get_attribute("href") for i in range(2)] == [
                    f"/dashboard/zones/{ZONE}/dossier.pdf",
                    f"/dashboard/zones/{ZONE}/dossier.xlsx",
                ]
                stage_history = tab.inner_text("#transitions")
                moves = admin.get(f"/v1/zones/{ZONE}/transitions").json()["items"]
                assert china_time(moves[0]["at"]) in stage_history  # China time, not UTC
            if name == "enterprise":  # its zones by their names
                assert named[0 if lang == "zh-CN" else 1] in text
        context.close()


def test_switching_to_english_and_back(page: Any) -> None:
    page.goto("/")
    page.click("#lang-switch")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("h1") == "Zones at a glance"
    timeline = page.inner_text("#timeline")
    assert "Phase 1" in timeline and "demonstration zone (provincial)" in timeline
    _shot(page, "overview-en")
    page.goto("/dashboard/campaigns")  # the choice is remembered
    assert page.inner_text("h1") == "Random inspection campaigns"
    page.click("#lang-switch")
    assert page.inner_text("h1") == "双随机抽查计划"


def test_a_service_down_shows_its_part_as_unavailable(stack: Any, page: Any) -> None:
    stack.stop_service("credit")
    try:
        page.goto("/")
        assert page.locator("#chart-credit").count() == 0
        assert "不可用" in page.inner_text("body")
        assert page.locator("#chart-zones canvas").count() == 1  # the rest still renders
    finally:
        stack.start_service("credit")


def _form_sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    client.get("/dashboard/login")
    return client.post(
        "/dashboard/login",
        data={
            "username": username,
            "password": password,
            "csrf": client.cookies["zone_dashboard_login"],
        },
    )


def test_the_demo_office_user_signs_in_and_enterprise_users_are_refused(
    gateway_url: str, admin: httpx.Client, scene: dict[str, Any]
) -> None:
    with httpx.Client(base_url=gateway_url, follow_redirects=False, timeout=20) as demo:
        answer = _form_sign_in(demo, "demo-office", "ninghai-zone-2017")  # dev profile
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        assert demo.get("/").status_code == 200
    username = f"ent-{uuid.uuid4().hex[:8]}"
    admin.post(
        "/v1/users",
        json={
            "username": username,
            "password": PASSWORD,
            "name": "企业用户",
            "kind": "enterprise",
            "uscc": scene["maker"],
            "scopes": ["registry:read"],
        },
    ).raise_for_status()
    with httpx.Client(base_url=gateway_url, follow_redirects=False, timeout=20) as staff:
        answer = _form_sign_in(staff, username, PASSWORD)
        assert answer.status_code == 403 and "zone_dashboard" not in staff.cookies
        assert staff.get("/").status_code == 303


def test_the_api_docs_load_their_assets_from_the_gateway(browser: Any, gateway_url: str) -> None:
    context = browser.new_context(base_url=gateway_url)
    tab = context.new_page()
    elsewhere: list[str] = []
    tab.on(
        "request",
        lambda r: None if r.url.startswith((gateway_url, "data:")) else elsewhere.append(r.url),
    )
    tab.goto("/docs")
    tab.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Zone platform API" in tab.inner_text(".swagger-ui .info .title")
    assert elsewhere == []  # government networks block CDNs
    context.close()
