"""The inspector's field app at /field/ in Chromium (Playwright, on the session's stack):
installable (manifest, icons, a service worker that keeps the shell), tasks downloaded
through /v1/sync, a result recorded offline with two photos and a location, the page
reloaded offline with the queue still there, a server change met as a conflict and
resolved, synced when back online (photos uploaded to /v1/evidence, their hashes in the
result, the files retrievable), and the second inspector confirming from a browser of
their own."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from deploy.seed_field import DEMO_INSPECTOR_PASSWORD
from gateway.users.service import DEMO_INSPECTOR_USERS
from tests.helpers import (
    CHINESE_TEXT_JS,
    codes_shown,
    grave_violations,
    inspector_client,
    known_codes,
    playwright_or_skip,
    png,
    screenshot,
    wait_until,
)

playwright_or_skip()

ZONE = "lighting-provincial"
PASSWORD = "a-long-inspector-password-for-tests"
NINGHAI = {"latitude": 29.2883, "longitude": 121.4317, "accuracy": 15}


@pytest.fixture(scope="module")
def field_task(admin: httpx.Client) -> dict[str, Any]:
    """A drawn task with a two-item checklist, and a user of each of its inspectors."""
    return _drawn_task(admin)


def _drawn_task(admin: httpx.Client) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    checklist = admin.post(
        "/v1/checklists",
        json={
            "code": f"field-{tag}",
            "industry": "lighting",
            "title": "灯具出口现场检查",
            "items": [
                {
                    "code": "LED-01",
                    "title": "标志",
                    "legal_basis": "GB 7000.1",
                    "criterion": "齐全",
                },
                {
                    "code": "LED-02",
                    "title": "防触电",
                    "legal_basis": "GB 7000.1",
                    "criterion": "无",
                },
            ],
        },
    )
    assert checklist.status_code == 201, checklist.text
    for n in range(2):
        created = admin.post(
            "/v1/inspectors",
            json={
                "agency": "market_supervision",
                "badge_number": f"3302{uuid.uuid4().int % 10**10:010d}",
                "name": f"现场检查员{n}",
                "unit": f"现场{tag}{n}所",
                "specialties": ["lighting"],
            },
        )
        assert created.status_code == 201, created.text
    campaign = admin.post(
        "/v1/campaigns",
        json={
            "title": f"现场应用测试抽查 {tag}",
            "agencies": ["market_supervision"],
            "zones": [ZONE],
            "industries": ["lighting"],
            "checklist_id": checklist.json()["id"],
            "ratios": {"A": 0.05, "B": 0.05, "C": 0.05, "D": 0.05},
            "window_start": str(date.today()),
            "window_end": str(date.today() + timedelta(days=30)),
        },
    ).json()
    drawn = admin.post(f"/v1/campaigns/{campaign['id']}/draw")
    assert drawn.status_code == 200, drawn.text
    task = admin.get("/v1/tasks", params={"campaign_id": campaign["id"]}).json()["items"][0]
    users = []
    for inspector_id in task["inspector_ids"][:2]:
        username = f"field-{uuid.uuid4().hex[:8]}"
        created = admin.post(
            "/v1/users",
            json={
                "username": username,
                "password": PASSWORD,
                "name": "现场检查员",
                "kind": "inspector",
                "inspector_id": inspector_id,
                "scopes": ["inspection:read", "inspection:write"],
            },
        )
        assert created.status_code == 201, created.text
        users.append(username)
    return {"task": task, "users": users}


def _context(browser: Any, gateway_url: str, **options: Any) -> Any:
    return browser.new_context(
        base_url=gateway_url,
        viewport={"width": 390, "height": 844},
        permissions=["geolocation"],
        geolocation=NINGHAI,
        locale="zh-CN",
        timezone_id="Europe/Berlin",  # an inspector's phone set elsewhere still shows China time
        **options,
    )


def _sign_in(tab: Any, username: str, password: str = PASSWORD) -> None:
    tab.goto("/field/")
    tab.wait_for_selector("body[data-ready]")
    tab.fill("#username", username)
    tab.fill("#password", password)
    tab.click("#sign-in button[type=submit]")
    tab.wait_for_selector("#tasks")


def _recorded_elsewhere(
    admin: httpx.Client, gateway_url: str, task: dict[str, Any], second: str, verdict: str
) -> None:
    """The task's first officer records it from another device: the server's copy changes
    under a result queued offline (a conflict when the queue syncs)."""
    with inspector_client(admin, gateway_url, task["inspector_ids"][0]) as elsewhere:
        other = elsewhere.post(
            f"/v1/tasks/{task['id']}/result",
            json={
                "findings": [
                    {"item": "LED-01", "outcome": "pass"},
                    {"item": "LED-02", "outcome": second},
                ],
                "verdict": verdict,
            },
        )
        assert other.status_code == 200, other.text


def _queue(tab: Any) -> str:
    return tab.text_content("#queue-count")  # type: ignore[no-any-return]


def _shot(tab: Any, name: str) -> None:
    screenshot(tab, name)


def _codes_on(tab: Any, admin: httpx.Client) -> set[str]:
    """The known codes the app's view shows: the whole bilingual text as any page's, and its
    Chinese (without the `lang="en"` parts) as a Chinese page's."""
    codes, zones = known_codes(admin)
    chinese = tab.evaluate(CHINESE_TEXT_JS, "main")
    return codes_shown(tab.inner_text("main"), codes, zones, chinese=False) | codes_shown(
        chinese, codes, zones, chinese=True
    )


def test_a_result_recorded_offline_syncs_with_its_photos_and_is_confirmed(
    browser: Any, gateway_url: str, admin: httpx.Client, field_task: dict[str, Any]
) -> None:
    task, (recorder, partner) = field_task["task"], field_task["users"]
    photos = [png(120, 90, seed=40), png(90, 120, seed=41)]
    hashes = [hashlib.sha256(p).hexdigest() for p in photos]
    context = _context(browser, gateway_url)
    tab = context.new_page()
    _sign_in(tab, recorder)
    item = f"li[data-task='{task['id']}']"
    tab.wait_for_selector(item)

    # installable: a manifest with icons, a service worker controlling /field/
    manifest = tab.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
    )
    assert manifest["start_url"] == "/field/" and manifest["display"] == "standalone"
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    scope = tab.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{gateway_url}/field/"
    tab.reload()  # now controlled by the worker, which has cached the shell
    tab.wait_for_selector(item)
    assert tab.evaluate("!!navigator.serviceWorker.controller")
    _shot(tab, "field-tasks")
    # times for people are China time whatever the phone's zone: 19:24 UTC is 03:24 next day
    assert tab.evaluate("chinaTime(Date.UTC(2026, 11, 6, 19, 24))") == "2026/12/7 03:24:00"
    assert _codes_on(tab, admin) == set(), "the synced task list shows codes"

    # offline: a result with two photos and a location, queued
    context.set_offline(True)
    tab.wait_for_selector("#net[data-online=false]")
    tab.click(f"{item} button")
    tab.check("fieldset[data-item='LED-01'] input[value=pass]")
    tab.check("fieldset[data-item='LED-02'] input[value=fail]")
    tab.fill("#note-LED-02", "带电部件可触及")
    tab.check("input[name=verdict][value=fail]")
    tab.set_input_files(
        "#photos",
        [
            {"name": "现场1.png", "mimeType": "image/png", "buffer": photos[0]},
            {"name": "现场2.png", "mimeType": "image/png", "buffer": photos[1]},
        ],
    )
    tab.click("#locate")
    tab.wait_for_selector("#location:has-text('±')")
    _shot(tab, "field-record")
    assert _codes_on(tab, admin) == set(), "the task's form shows codes"
    # a phone's width: nothing runs off the side
    assert tab.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    tab.click("#save")
    tab.wait_for_selector("#queue li[data-state=pending]")
    assert _queue(tab) == "1"

    # reloaded offline: the shell comes from the worker, the queue from IndexedDB
    tab.reload()
    tab.wait_for_selector("body[data-ready]")
    tab.wait_for_selector("#queue li[data-state=pending]")
    assert _queue(tab) == "1" and tab.is_visible(item)
    _shot(tab, "field-offline-queue")

    # meanwhile the server's task changed (the same officer recorded from another device)
    _recorded_elsewhere(admin, gateway_url, task, "pass", "pass")

    # back online: the photos go up, the push meets the change as a conflict, shown
    context.set_offline(False)
    tab.wait_for_selector("#queue li[data-state=conflict]")
    assert _queue(tab) == "1"
    _shot(tab, "field-conflict")
    tab.click("#queue li[data-state=conflict] button.keep-mine")
    tab.wait_for_selector("#queue-count:text-is('0')")

    recorded = admin.get(f"/v1/tasks/{task['id']}").json()
    assert recorded["result_status"] == "awaiting_confirmation"
    result = recorded["result"]
    assert result["verdict"] == "fail" and result["findings"][1]["note"] == "带电部件可触及"
    assert sorted(e["sha256"] for e in result["evidence"]) == sorted(hashes)
    assert result["location"]["lat"] == pytest.approx(NINGHAI["latitude"])
    assert result["location"]["accuracy_m"] == pytest.approx(15)
    for photo, sha256 in zip(photos, hashes, strict=True):
        assert admin.get(f"/v1/evidence/{sha256}").content == photo
    context.close()

    # the second inspector confirms on their own device
    second = _context(browser, gateway_url)
    tab = second.new_page()
    _sign_in(tab, partner)
    tab.click(f"li[data-task='{task['id']}'] button")
    tab.wait_for_selector("#confirm")
    assert _codes_on(tab, admin) == set(), "the result to confirm shows codes"
    assert "不合格" in tab.inner_text("#recorded-result")  # the verdict by its name
    tab.click("#confirm")
    final = wait_until(
        lambda: (t := admin.get(f"/v1/tasks/{task['id']}").json())["status"] == "completed" and t,
        timeout=60,
        what="the second inspector's confirmation synced",
    )
    tab.wait_for_selector("#queue-count:text-is('0')")
    assert final["verdict"] == "fail"
    assert final["result_status"] == "final"
    second.close()


def test_the_demo_inspector_finds_drawn_tasks(browser: Any, gateway_url: str) -> None:
    """The dev seed's `demo-inspector` (README's try-it line) has open tasks to try."""
    context = _context(browser, gateway_url)
    tab = context.new_page()
    _sign_in(tab, DEMO_INSPECTOR_USERS[0], DEMO_INSPECTOR_PASSWORD)
    tab.wait_for_selector("#tasks li.task")
    assert int(tab.text_content("#task-count") or 0) >= 1
    context.close()


def test_the_shell_is_served_with_its_policy(gateway_url: str) -> None:
    page = httpx.get(f"{gateway_url}/field/")
    assert (
        page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    )
    worker = httpx.get(f"{gateway_url}/field/sw.js")
    assert worker.headers["service-worker-allowed"] == "/field/"
    assert "__SHELL_VERSION__" not in worker.text
    assert httpx.get(f"{gateway_url}/field/nothing.js").status_code == 404
    assert httpx.get(f"{gateway_url}/field", follow_redirects=False).status_code == 308


def test_no_field_page_has_serious_accessibility_violations(
    browser: Any, gateway_url: str, admin: httpx.Client, axe_js: str
) -> None:
    """axe-core on each view: sign-in, task list, task, the queue with a pending result
    (offline) and with a conflict. axe is injected as an inline script, which the app's CSP
    rightly forbids: this context alone bypasses it."""
    drawn = _drawn_task(admin)
    task, recorder = drawn["task"], drawn["users"][0]
    context = _context(browser, gateway_url, bypass_csp=True)
    tab = context.new_page()
    found: dict[str, Any] = {}

    def check(view: str) -> None:
        if grave := grave_violations(tab, axe_js):
            found[view] = grave

    tab.goto("/field/")
    tab.wait_for_selector("#sign-in")
    check("sign-in")
    _sign_in(tab, recorder)
    item = f"li[data-task='{task['id']}']"
    tab.wait_for_selector(item)
    check("tasks")
    tab.evaluate("navigator.serviceWorker.ready.then(() => true)")
    context.set_offline(True)
    tab.wait_for_selector("#net[data-online=false]")
    tab.click(f"{item} button")
    tab.wait_for_selector("#save")
    check("task")
    tab.check("fieldset[data-item='LED-01'] input[value=pass]")
    tab.check("fieldset[data-item='LED-02'] input[value=pass]")
    tab.check("input[name=verdict][value=pass]")
    tab.click("#save")
    tab.wait_for_selector("#queue li[data-state=pending]")
    check("queue")
    _recorded_elsewhere(admin, gateway_url, task, "fail", "fail")
    context.set_offline(False)
    tab.wait_for_selector("#queue li[data-state=conflict]")
    check("conflict")
    context.close()
    assert found == {}
