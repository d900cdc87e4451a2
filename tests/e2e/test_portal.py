"""The enterprise portal (/portal/) in a real browser (Debian's headless Chromium through
Playwright) against the whole stack: an enterprise user made through the API signs in, sees
only its own data (another enterprise's batch → the refused page), signs its zone's
commitment, uploads a batch file with one bad line and sees that line reported, reads a risk
warning; on a 360 × 780 phone no page scrolls sideways. Screenshots go to
test-artifacts/screenshots/portal-*.png. Skipped where Chromium is not installed."""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from deploy.seed import DEMO_ENTERPRISE_PASSWORD, DEMO_ENTERPRISE_SCOPES
from gateway.users.service import DEMO_ENTERPRISE_USER
from kit import commitments
from tests.helpers import (
    PORTAL_PAGES as PAGES,
)
from tests.helpers import (
    codes_shown,
    enterprise_body,
    grave_violations,
    known_codes,
    new_uscc,
    office_user,
    playwright_or_skip,
    png,
    record_and_confirm,
    screenshot,
    wait_until,
    xlsx,
)

playwright_or_skip()

ZONE = "lighting-provincial"
PASSWORD = "a-long-enterprise-password"
PHONE = {"width": 360, "height": 780}


def _user_token(gateway_url: str, username: str) -> str:
    answer = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD},
        timeout=20,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def scene(admin: httpx.Client, gateway_url: str) -> dict[str, Any]:
    """Enterprise A (an applicant of the zone, with a user, an export batch and a risk
    warning about it) and enterprise B (with a batch of its own)."""
    tag = uuid.uuid4().hex[:6].upper()
    mine, theirs = new_uscc(), new_uscc()
    for uscc in (mine, theirs):
        admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    admin.post(f"/v1/zones/{ZONE}/applications", json={"uscc": mine}).raise_for_status()
    username = f"portal-{uuid.uuid4().hex[:8]}"
    admin.post(
        "/v1/users",
        json={
            "username": username,
            "password": PASSWORD,
            "name": "企业门户测试用户",
            "kind": "enterprise",
            "uscc": mine,
            "scopes": DEMO_ENTERPRISE_SCOPES,
        },
    ).raise_for_status()
    their_batch = admin.post(
        "/v1/batches", json={"uscc": theirs, "number": f"B-{tag}", "product": "台灯"}
    ).json()
    admin.post(
        "/v1/batches",
        json={
            "uscc": mine,
            "number": f"NB-{tag}",
            "product": "LED 吸顶灯",
            "hs_code": "940542",
            "destination": "DE",
            "ship_date": str(date.today() - timedelta(days=3)),
            "export_value_usd": 1_000_000,
        },
    ).raise_for_status()
    # the alert's targeted task gets a lighting checklist and two inspectors to fail it with
    admin.post(
        "/v1/checklists",
        json={
            "code": f"portal-{tag.lower()}",
            "industry": "lighting",
            "title": "灯具出口定向检查",
            "items": [
                {"code": "PT-01", "title": "标志", "legal_basis": "GB 7000.1", "criterion": "齐全"}
            ],
        },
    ).raise_for_status()
    for n in range(2):
        admin.post(
            "/v1/inspectors",
            json={
                "agency": "market_supervision",
                "badge_number": f"3305{uuid.uuid4().int % 10**10:010d}",
                "name": f"门户检查员{n}",
                "unit": f"门户{tag}{n}所",
            },
        ).raise_for_status()
    signal = admin.post(
        "/v1/risk/signals",
        json={
            "kind": "foreign_notification",
            "reference": f"PORTAL/{tag}",
            "notifying_country": "DE",
            "risk_level": "high",
            "batch_number": f"NB-{tag}",
        },
    )
    assert signal.status_code == 201, signal.text
    with httpx.Client(
        base_url=gateway_url,
        headers={"Authorization": f"Bearer {_user_token(gateway_url, username)}"},
        timeout=20,
    ) as own:
        wait_until(
            lambda: any(m["kind"] == "warning" for m in own.get("/v1/inbox").json()["items"]),
            what="the risk warning in the enterprise's inbox",
            timeout=60,
        )
    alert_id = wait_until(
        lambda: admin.get(f"/v1/risk/signals/{signal.json()['id']}").json().get("alert_id"),
        what="the alert",
    )
    return {
        "mine": mine,
        "theirs": theirs,
        "user": username,
        "their_batch": their_batch,
        "tag": tag,
        "alert_id": alert_id,
    }


def _sign_in(tab: Any, username: str, password: str = PASSWORD) -> None:
    tab.goto("/portal/")
    assert "/portal/login" in tab.url
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", password)
    tab.click("form button[type=submit]")
    tab.wait_for_load_state("networkidle")


@pytest.fixture
def page(browser: Any, gateway_url: str, scene: dict[str, Any]) -> Iterator[Any]:
    """A phone-sized page signed in as enterprise A (through the sign-in form)."""
    context = browser.new_context(base_url=gateway_url, viewport=PHONE)
    tab = context.new_page()
    _sign_in(tab, scene["user"])
    yield tab
    context.close()


def _shot(tab: Any, name: str) -> None:
    screenshot(tab, f"portal-{name}")


def _fits(tab: Any) -> bool:
    return bool(tab.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


def test_an_enterprise_user_signs_in_and_sees_only_its_own_data(
    page: Any, admin: httpx.Client, scene: dict[str, Any]
) -> None:
    assert page.url.endswith("/portal/")
    assert scene["mine"] in page.inner_text("#profile")
    cookie = next(c for c in page.context.cookies() if c["name"] == "zone_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    _shot(page, "profile")
    # the profile form PATCHes through the registry with the user's token
    page.fill("#profile-form input[name=address]", "浙江省宁波市宁海县跃龙街道门户路1号")
    page.click("#profile-form button[type=submit]")
    page.wait_for_selector("p.ok")
    assert admin.get(f"/v1/enterprises/{scene['mine']}").json()["address"].endswith("门户路1号")
    # a bad value is the registry's 422, shown on the page; nothing changes
    page.fill("#profile-form input[name=contact_phone]", "12345")
    page.click("#profile-form button[type=submit]")
    page.wait_for_selector("#action-error")
    assert "contact_phone" in page.inner_text("#action-error") or "电话" in page.inner_text(
        "#action-error"
    )

    # another enterprise's batch, by its URL: refused by the registry, the refused page here
    answer = page.goto(f"/portal/batches/{scene['their_batch']['id']}")
    assert answer.status in (403, 404)
    assert page.locator("#refused").count() == 1
    assert scene["their_batch"]["number"] not in page.content()
    _shot(page, "refused")
    # and only its own lots in its list
    page.goto("/portal/batches")
    numbers = page.locator("#batches .lot").evaluate_all("els => els.map(e => e.dataset.number)")
    assert f"NB-{scene['tag']}" in numbers and f"B-{scene['tag']}" not in numbers


def test_office_users_are_sent_to_the_dashboard_and_the_demo_enterprise_signs_in(
    browser: Any, gateway_url: str, admin: httpx.Client
) -> None:
    office = office_user(admin, "a-long-office-password-for-portal")
    context = browser.new_context(base_url=gateway_url, viewport=PHONE)
    tab = context.new_page()
    _sign_in(tab, office, "a-long-office-password-for-portal")
    assert "/portal/login" in tab.url
    assert "企业用户" in tab.inner_text("#login-error")
    assert not any(c["name"] == "zone_portal" for c in context.cookies())
    _sign_in(tab, DEMO_ENTERPRISE_USER, DEMO_ENTERPRISE_PASSWORD)  # the seed's demo user
    assert tab.url.endswith("/portal/")
    context.close()


def test_signs_the_zone_commitment(page: Any, admin: httpx.Client, scene: dict[str, Any]) -> None:
    page.goto("/portal/commitments")
    text = commitments.TEXTS[commitments.CURRENT_VERSION]
    assert page.inner_text("#commitment-text").strip() == text
    assert page.inner_text("#text-sha256") == commitments.text_sha256(text)
    # without the confirmation nothing is sent (the browser's check removed, the server's holds)
    page.fill("#sign-form input[name=signatory]", "王伟")
    page.evaluate("document.querySelector('#sign-form input[name=confirm]').required = false")
    page.click("#sign-form button[type=submit]")
    page.wait_for_selector("#action-error")
    assert admin.get(f"/v1/enterprises/{scene['mine']}/commitments").json()["items"] == []
    page.fill("#sign-form input[name=signatory]", "王伟")
    page.check("#sign-form input[name=confirm]")
    page.click("#sign-form button[type=submit]")
    page.wait_for_selector("p.ok")
    signed = admin.get(f"/v1/enterprises/{scene['mine']}/commitments").json()["items"]
    assert len(signed) == 1
    assert signed[0]["signatory"] == "王伟" and signed[0]["zone_code"] == ZONE
    assert signed[0]["text_sha256"] == commitments.text_sha256(text)
    shown = page.locator(f'#commitments .commitment[data-zone="{ZONE}"]')
    assert shown.get_attribute("data-status") == "signed"
    assert "待示范区办公室会签" in shown.inner_text()
    _shot(page, "commitments")


def test_uploads_a_batch_file_with_one_bad_line(page: Any, scene: dict[str, Any]) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    header = "number,product,hs_code,quantity,unit,destination,ship_date,export_value_usd"
    rows = [
        f"UP-{tag}-1,LED 筒灯,940542,1200,pcs,US,{date.today() - timedelta(days=1)},50000",
        f"UP-{tag}-2,LED 台灯,940542,300,pcs,NOWHERE,{date.today()},8000",
        f"UP-{tag}-3,LED 灯带,940542,800,pcs,DE,{date.today()},12000",
    ]
    page.goto("/portal/batches")
    page.set_input_files(
        "#upload-form input[name=file]",
        {
            "name": "batches.csv",
            "mimeType": "text/csv",
            "buffer": ("\n".join([header, *rows]) + "\n").encode("utf-8-sig"),
        },
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-result")
    assert page.inner_text("#n-received") == "3"
    assert page.inner_text("#n-accepted") == "2"
    assert page.inner_text("#n-rejected") == "1"
    bad = page.locator("#upload-result li.bad")
    assert bad.count() == 1 and bad.get_attribute("data-row") == "3"  # the file's row 3
    assert "destination" in bad.inner_text()
    assert _fits(page)
    _shot(page, "upload")
    # the same lots from an Excel workbook are duplicates, the bad row still refused
    table: list[list[object]] = [list(line.split(",")) for line in [header, *rows]]
    page.set_input_files(
        "#upload-form input[name=file]",
        {
            "name": "batches.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": xlsx(table),
        },
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-result")
    assert page.inner_text("#n-duplicates") == "2"
    assert page.inner_text("#n-rejected") == "1"
    # a file without a header row naming `number` is refused before anything is sent
    page.set_input_files(
        "#upload-form input[name=file]",
        {"name": "x.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n"},
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-error")
    # an uploaded lot's page with its trace graph
    page.goto("/portal/batches")
    page.click(f"#batches .lot[data-number='UP-{tag}-1'] a")
    page.wait_for_selector("#trace li.root")
    _shot(page, "batch")


@pytest.mark.parametrize("path", ["/portal/batches/upload", "/portal/capas/response"])
def test_a_file_post_without_a_session_is_refused_before_its_body(
    gateway_url: str, path: str
) -> None:
    """Only the headers of a 30 MB multipart post are sent: without a session the gateway
    answers (to the sign-in page) at once instead of waiting to read and spool the body."""
    url = urlsplit(gateway_url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        "Content-Length: 30000000\r\nConnection: close\r\n\r\n--x\r\n"
    )
    with socket.create_connection((url.hostname, url.port or 80), timeout=30) as conn:
        conn.sendall(head.encode())
        answer = conn.recv(4096).decode("latin-1")
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.split()[1] == "303", answer[:300]
    assert "location: /portal/login" in rest.lower(), answer[:300]


def test_reads_a_warning(page: Any, gateway_url: str, scene: dict[str, Any]) -> None:
    page.goto("/portal/inbox")
    warning = page.locator("#inbox .message.unread[data-kind='warning']").first
    assert f"NB-{scene['tag']}" in warning.inner_text()
    message_id = (warning.get_attribute("id") or "").removeprefix("msg-")
    _shot(page, "inbox")
    warning.locator("button").click()
    page.wait_for_selector(f"#msg-{message_id}:not(.unread)")
    with httpx.Client(
        base_url=gateway_url,
        headers={"Authorization": f"Bearer {_user_token(gateway_url, scene['user'])}"},
        timeout=20,
    ) as own:
        read = [m for m in own.get("/v1/inbox").json()["items"] if m["id"] == message_id]
    assert read and read[0]["read_at"] is not None


def test_every_page_fits_a_phone(page: Any, scene: dict[str, Any]) -> None:
    for path in PAGES:
        answer = page.goto(path)
        assert answer.status == 200, path
        assert _fits(page), f"{path} scrolls sideways at 360 px"
        _shot(page, path.removeprefix("/portal/") or "home")
    page.goto("/portal/credit")
    assert page.locator("#credit-level").get_attribute("data-level") in ("A", "B", "C", "D")
    assert page.locator("#contributions .bar-row").count() >= 1  # the notification's fact
    page.goto("/portal/?lang=en")
    assert "Enterprise profile" in page.inner_text("h1")
    assert _fits(page)


def test_applies_to_join_a_zone(page: Any, admin: httpx.Client, scene: dict[str, Any]) -> None:
    page.goto("/portal/zones")
    mine = page.locator(f'#memberships .membership[data-zone="{ZONE}"]')
    assert mine.get_attribute("data-status") == "applied"
    # a zone that does not exist (the list offers none such): the registry's 404, shown
    page.evaluate(
        "const s = document.querySelector('#apply-form select');"
        "s.add(new Option('x', 'no-such-zone')); s.value = 'no-such-zone';"
    )
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#action-error")
    code = page.locator("#apply-form select option").first.get_attribute("value")
    assert code and code != ZONE
    page.select_option("#apply-form select", code)
    page.fill("#apply-form input[name=note]", "申请加入")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("p.ok")
    found = admin.get("/v1/memberships", params={"uscc": scene["mine"]}).json()["items"]
    assert {(m["zone_code"], m["status"]) for m in found} >= {(code, "applied"), (ZONE, "applied")}
    assert page.locator(f'#memberships .membership[data-zone="{code}"]').count() == 1


def test_answers_a_corrective_action(
    page: Any, admin: httpx.Client, gateway_url: str, scene: dict[str, Any]
) -> None:
    alert = admin.get(f"/v1/risk/alerts/{scene['alert_id']}").json()
    task = admin.get(f"/v1/tasks/{alert['task_id']}").json()
    record_and_confirm(
        admin,
        gateway_url,
        task,
        {
            "findings": [{"item": "PT-01", "outcome": "fail", "note": "无 CCC 标志"}],
            "verdict": "fail",
        },
        photos=(png(),),
    )
    capa = wait_until(
        lambda: next(
            iter(admin.get("/v1/capas", params={"uscc": scene["mine"]}).json()["items"]), None
        ),
        what="the CAPA",
    )
    page.goto("/portal/capas")
    page.click("#capas .capa a")
    page.wait_for_selector("#respond-form")
    # without a root cause the inspection service refuses (422), and says why
    page.evaluate(
        "document.querySelector('#respond-form textarea[name=root_cause]').required = false"
    )
    page.fill("#respond-form textarea[name=actions]", "更换标志印刷供应商")
    page.click("#respond-form button[type=submit]")
    page.wait_for_selector("#action-error")
    assert admin.get(f"/v1/capas/{capa['id']}").json()["status"] == "open"
    # more than 20 attachments: refused before any is sent
    page.fill("#respond-form textarea[name=root_cause]", "标志印刷批次漏印")
    page.fill("#respond-form textarea[name=actions]", "更换标志印刷供应商，全检库存")
    many = [{"name": f"{n}.png", "mimeType": "image/png", "buffer": png(seed=n)} for n in range(21)]
    page.set_input_files("#respond-form input[name=files]", many)
    page.click("#respond-form button[type=submit]")
    page.wait_for_selector("#action-error")
    assert "20" in page.inner_text("#action-error")
    assert admin.get(f"/v1/capas/{capa['id']}").json()["status"] == "open"
    # a page of HTML named .jpg is no photo: the evidence service's 415, its detail shown
    page.fill("#respond-form textarea[name=root_cause]", "标志印刷批次漏印")
    page.fill("#respond-form textarea[name=actions]", "更换标志印刷供应商，全检库存")
    fake = {"name": "整改照片.jpg", "mimeType": "image/jpeg", "buffer": b"<html>x</html>"}
    page.set_input_files("#respond-form input[name=files]", [fake])
    page.click("#respond-form button[type=submit]")
    page.wait_for_selector("#action-error")
    error = page.inner_text("#action-error")
    assert "整改照片.jpg" in error and "按文件内容判断" in error, error
    assert admin.get(f"/v1/capas/{capa['id']}").json()["status"] == "open"
    # with a photo: uploaded to /v1/evidence as the user, its hash cited in the answer
    photo = png(160, 120, seed=77)
    sha256 = hashlib.sha256(photo).hexdigest()
    page.fill("#respond-form textarea[name=root_cause]", "标志印刷批次漏印")
    page.fill("#respond-form textarea[name=actions]", "更换标志印刷供应商，全检库存")
    page.set_input_files(
        "#respond-form input[name=files]",
        [{"name": "整改后标志.png", "mimeType": "image/png", "buffer": photo}],
    )
    page.click("#respond-form button[type=submit]")
    page.wait_for_selector("p.ok")
    answered = admin.get(f"/v1/capas/{capa['id']}").json()
    assert answered["status"] == "responded" and answered["root_cause"] == "标志印刷批次漏印"
    assert answered["evidence"] == [{"sha256": sha256, "name": "整改后标志.png"}]
    assert admin.get(f"/v1/evidence/{sha256}").content == photo
    assert page.get_attribute("#capa", "data-status") == "responded"
    # the CAPA page lists the attachment; its link streams the file as the user
    link = page.locator(f'#attachments .attachment[data-sha256="{sha256}"] a')
    assert link.inner_text() == "整改后标志.png"
    fetched = page.request.get(link.get_attribute("href"))
    assert fetched.status == 200 and fetched.body() == photo
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert fetched.headers["content-disposition"].startswith("attachment")
    # a file never uploaded: the evidence service's 404, the refused page
    missing = page.request.get(f"/portal/evidence/{'0' * 64}")
    assert missing.status == 404 and "refused" in missing.text()
    _shot(page, "capa")


def test_applies_for_a_credit_repair(page: Any, admin: httpx.Client, scene: dict[str, Any]) -> None:
    fact = admin.post(
        "/v1/credit/facts",
        json={
            "uscc": scene["mine"],
            "kind": "return",
            "severity": "general",
            "occurred_at": (datetime.now(UTC) - timedelta(days=200)).isoformat(),
            "evidence_ref": f"退运-{scene['tag']}",
        },
    )
    assert fact.status_code in (200, 201), fact.text
    fact_id = fact.json()["id"]
    page.goto("/portal/credit")
    ready = page.locator(f'.repair[data-fact="{fact_id}"]')
    assert ready.get_attribute("data-ready") == "1"
    # the serious notification of the scene waits a year: shown with its date, no form
    waiting = page.locator('.repair[data-ready="0"]')
    assert waiting.count() >= 1 and waiting.first.locator("form").count() == 0
    ready.locator("textarea[name=reason]").fill("已召回并更换包装，完善出厂检验")
    ready.locator("button[type=submit]").click()
    page.wait_for_selector("p.ok")
    repairs = admin.get("/v1/credit/repairs", params={"uscc": scene["mine"]}).json()["items"]
    assert [(r["fact_id"], r["status"]) for r in repairs] == [(fact_id, "pending")]
    assert page.locator(f'.repair[data-fact="{fact_id}"]').count() == 0  # asked: no longer offered


def test_asks_a_lab_for_a_test(page: Any, admin: httpx.Client, scene: dict[str, Any]) -> None:
    labs = admin.get(
        "/v1/labs", params={"hs_code": "940542", "standard": "GB 7000.1", "valid_today": "true"}
    ).json()
    lab = labs["items"][0]
    batch = admin.get(
        "/v1/batches", params={"uscc": scene["mine"], "number": f"NB-{scene['tag']}"}
    ).json()["items"][0]
    page.goto("/portal/tests")
    page.select_option("#test-form select[name=lab_id]", lab["id"])
    page.select_option("#test-form select[name=batch_id]", batch["id"])
    page.fill("#test-form input[name=standard]", "GB 99999")  # outside every lab's scope
    page.click("#test-form button[type=submit]")
    page.wait_for_selector("#action-error")
    page.select_option("#test-form select[name=lab_id]", lab["id"])
    page.select_option("#test-form select[name=batch_id]", batch["id"])
    page.fill("#test-form input[name=standard]", "GB 7000.1")
    page.click("#test-form button[type=submit]")
    page.wait_for_selector("p.ok")
    assert page.locator('#test-requests .test-request[data-status="requested"]').count() == 1
    mine = admin.get("/v1/test-requests", params={"uscc": scene["mine"]}).json()["items"]
    assert [(r["batch_id"], r["standard"], r["status"]) for r in mine] == [
        (batch["id"], "GB 7000.1", "requested")
    ]


def test_a_webhook_secret_is_shown_once(page: Any, scene: dict[str, Any]) -> None:
    page.goto("/portal/webhooks")
    # a loopback address is refused by notify's SSRF guard, and said so
    page.fill("#webhook-form input[name=url]", "http://127.0.0.1:9/hook")
    page.fill("#webhook-form input[name=event_types]", "credit.repair.decided")
    page.click("#webhook-form button[type=submit]")
    page.wait_for_selector("#action-error")
    assert page.locator("#secret-once").count() == 0
    page.fill("#webhook-form input[name=url]", "https://93.184.215.14/hooks/zone")
    page.fill("#webhook-form input[name=event_types]", "credit.repair.decided")
    page.click("#webhook-form button[type=submit]")
    page.wait_for_selector("#secret-once")
    assert page.inner_text("#webhook-secret").startswith("whsec_")
    page.goto("/portal/webhooks")
    assert page.locator("#secret-once").count() == 0  # never again
    assert page.locator("#subscriptions .subscription").count() == 1
    page.click("#subscriptions .subscription button")
    page.wait_for_load_state("networkidle")
    assert page.locator("#subscriptions .subscription").count() == 0


def test_pages_show_names_in_both_languages_never_codes(
    browser: Any, gateway_url: str, admin: httpx.Client, scene: dict[str, Any]
) -> None:
    """Every page (the lists, a lot and a CAPA of its own too), once per language, scanned for
    any known code outside URLs: statuses, levels, kinds, zones, industries are named."""
    codes, zones = known_codes(admin)
    mine = admin.get("/v1/batches", params={"uscc": scene["mine"]}).json()["items"][0]
    capas = admin.get("/v1/capas", params={"uscc": scene["mine"]}).json()["items"]
    details = [f"/portal/batches/{mine['id']}", *(f"/portal/capas/{c['id']}" for c in capas)]
    context = browser.new_context(base_url=gateway_url, viewport=PHONE)
    tab = context.new_page()
    _sign_in(tab, scene["user"])
    found = {}
    for lang in ("zh-CN", "en"):
        tab.goto(f"/portal/?lang={lang}")  # the choice is remembered for the other pages
        for path in [*PAGES, *details]:
            answer = tab.goto(path)
            assert answer.status == 200, path
            tab.wait_for_load_state("networkidle")
            slug = path.removeprefix("/portal/").split("/")[0] or "home"
            _shot(tab, f"names-{slug}{'-one' if path in details else ''}-{lang}")
            shown = codes_shown(tab.inner_text("main"), codes, zones, chinese=lang == "zh-CN")
            if shown:
                found[f"{path} ({lang})"] = sorted(shown)
    context.close()
    assert found == {}


def test_no_page_has_serious_accessibility_violations(
    browser: Any, gateway_url: str, admin: httpx.Client, scene: dict[str, Any], axe_js: str
) -> None:
    # axe is injected as an inline script, which the portal's CSP rightly forbids: this
    # context alone bypasses it
    context = browser.new_context(base_url=gateway_url, viewport=PHONE, bypass_csp=True)
    tab = context.new_page()
    tab.goto("/portal/login")
    found = {}
    capas = admin.get("/v1/capas", params={"uscc": scene["mine"]}).json()["items"]
    more = [f"/portal/capas/{c['id']}" for c in capas[:1]]  # its answer form or attachments
    for path in [
        "/portal/login",
        *PAGES,
        f"/portal/batches/{scene['their_batch']['id']}",
        *more,
    ]:
        if path == PAGES[0]:
            _sign_in(tab, scene["user"])
        else:
            tab.goto(path)
        grave = grave_violations(tab, axe_js)
        if grave:
            found[path] = grave
    context.close()
    assert found == {}
