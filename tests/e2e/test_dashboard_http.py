"""The dashboard over plain HTTP, without a browser (these run where Chromium is absent):
sessions, CSRF, forged and stale posts, odd input on every route."""

from __future__ import annotations

import httpx
import pytest

from gateway.dashboard.session import csrf_for
from tests.helpers import new_uscc, office_user

PASSWORD = "a-long-office-password-for-http-tests"


@pytest.fixture(scope="module")
def office(admin: httpx.Client) -> str:
    return office_user(admin, PASSWORD)


def test_no_or_expired_session_and_forged_posts(gateway_url: str) -> None:
    with httpx.Client(base_url=gateway_url, follow_redirects=False, timeout=20) as anonymous:
        answer = anonymous.get("/dashboard/campaigns")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dashboard/login?next=%2Fdashboard%2Fcampaigns"
        stale = anonymous.get("/", headers={"Cookie": "zone_dashboard=not.a.token"})
        assert stale.status_code == 303 and "expired=1" in stale.headers["location"]
        login = anonymous.get("/dashboard/login")
        assert "script-src 'self'" in login.headers["content-security-policy"]
        assert login.headers["cache-control"] == "no-store"
        forged = anonymous.post(
            "/dashboard/login",
            data={"username": "demo-office", "password": "x" * 12, "csrf": "guess"},
            headers={"Cookie": "zone_dashboard_login=another"},
        )
        assert forged.status_code == 403 and "zone_dashboard=" not in forged.headers.get(
            "set-cookie", ""
        )
        asset = anonymous.get("/static/vendor/echarts.min.js")
        assert asset.status_code == 200 and "max-age=31536000" in asset.headers["cache-control"]
        assert anonymous.get("/static/../router.py").status_code == 404
        missing = anonymous.get("/static/nosuch.js")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        # problem types resolve to what they mean; an unknown one is itself not found
        known = anonymous.get("/problems/validation")
        assert known.status_code == 200 and known.json()["status"] == 422
        assert anonymous.get("/problems/nosuch").status_code == 404


def test_a_post_without_the_csrf_token_changes_nothing(
    gateway_url: str, admin: httpx.Client, office: str
) -> None:
    token = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": office, "password": PASSWORD},
    ).json()["access_token"]
    with httpx.Client(
        base_url=gateway_url, cookies={"zone_dashboard": token}, timeout=20
    ) as browser_like:
        answer = browser_like.post(
            "/dashboard/zones/stationery-provincial/transition", data={"to": "revoked"}
        )
        assert answer.status_code == 403
        # with its token but a version someone else has since changed: the registry's 412
        # comes back as a message on the page, not an error page
        stale = browser_like.post(
            "/dashboard/zones/stationery-provincial/transition",
            data={"to": "revoked", "version": "0", "csrf": csrf_for(token)},
        )
        assert stale.status_code == 412 and 'id="action-error"' in stale.text
    assert admin.get("/v1/zones/stationery-provincial").json()["stage"] != "revoked"


def test_odd_input_is_never_a_server_error(gateway_url: str, office: str) -> None:
    token = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": office, "password": PASSWORD},
    ).json()["access_token"]
    csrf = {"csrf": csrf_for(token)}
    odd = "..%2F..%2Fv1%2Fclients"
    gets = [
        "/dashboard/zones/%2E%2E",  # a `..` segment must not be resolved out of the path
        f"/dashboard/zones/{odd}",
        "/dashboard/zones/none-such?year=2031",
        "/dashboard/zones/lighting-provincial?cursor=not-a-cursor",
        f"/dashboard/enterprises/{odd}",
        "/dashboard/enterprises/91330226XXXXXXXXXX?batch=not-a-uuid&direction=downstream",
        "/dashboard/enterprises?q=%00&cursor=%ZZ",
        "/dashboard/campaigns?campaign=not-a-uuid&draws_cursor=x",
        "/dashboard/alerts?signals_cursor=x&alerts_cursor=y",
        "/dashboard/alerts?status=nonsense",
        "/dashboard/audit?outcome=nonsense&actor=%27%22<script>",
        "/static/vendor/",
        "/static/%2e%2e/router.py",
    ]
    posts = [
        ("/dashboard/campaigns/not-a-uuid/verify", csrf),
        ("/dashboard/signals/not-a-uuid/link", {**csrf, "uscc": "x" * 18}),
        ("/dashboard/signals/not-a-uuid/dismiss", csrf),
        ("/dashboard/alerts/not-a-uuid/move", {**csrf, "status": "closed", "version": "x"}),
        ("/dashboard/alerts/not-a-uuid/move", {**csrf, "status": "reopened"}),
        (f"/dashboard/zones/{odd}/transition", {**csrf, "to": "nowhere"}),
        (f"/dashboard/zones/{odd}/tasks/survey", {**csrf, "done": "1"}),
        ("/dashboard/zones/lighting-provincial/tasks/none-such", {**csrf, "done": "0"}),
        ("/dashboard/zones/lighting-provincial/tasks/survey", {**csrf, "done": "maybe"}),
        ("/dashboard/login", {"username": "\x00", "password": "\x00"}),
    ]
    with httpx.Client(
        base_url=gateway_url,
        headers={"Cookie": f"zone_dashboard={token}", "HX-Request": "true"},
        follow_redirects=False,
        timeout=20,
    ) as browser_like:
        # the session is accepted (else every answer below would be a harmless redirect)
        home = browser_like.get("/")
        assert home.status_code == 200 and "hx-redirect" not in home.headers
        for path in gets:
            answer = browser_like.get(path)
            assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
        # a cursor the API refuses is the request's fault, not an outage: said as such
        page = browser_like.get("/dashboard/enterprises?cursor=not-a-cursor").text
        # in the page's language: the API answers the dashboard's Chinese in Chinese
        assert "请求未被接受" in page and "翻页游标不是本接口签发的" in page
        assert "该部分暂时不可用" not in page
        for path, form in posts:
            answer = browser_like.post(path, data=form)
            assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
    # a plain form post (no HTMX) the API refuses shows the zone page with the reason
    with httpx.Client(
        base_url=gateway_url, headers={"Cookie": f"zone_dashboard={token}"}, timeout=20
    ) as plain:
        refused = plain.post(
            "/dashboard/zones/lighting-provincial/tasks/none-such", data={**csrf, "done": "1"}
        )
        assert refused.status_code == 404 and 'id="action-error"' in refused.text
        assert "none-such" in refused.text


def test_favicon_dossier_links_and_a_missing_enterprise(gateway_url: str, office: str) -> None:
    token = httpx.post(
        f"{gateway_url}/oauth/token",
        data={"grant_type": "password", "username": office, "password": PASSWORD},
    ).json()["access_token"]
    with httpx.Client(base_url=gateway_url, timeout=120) as anonymous:
        icon = anonymous.get("/favicon.ico")  # browsers ask on every page: no 404
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")
        assert (
            anonymous.get(
                "/dashboard/zones/lighting-provincial/dossier.xlsx", follow_redirects=False
            ).status_code
            == 303
        )  # the dossier through the dashboard needs a session
    with httpx.Client(
        base_url=gateway_url, headers={"Cookie": f"zone_dashboard={token}"}, timeout=120
    ) as browser_like:
        zone = browser_like.get("/dashboard/zones/lighting-provincial").text
        assert 'href="/dashboard/zones/lighting-provincial/dossier.pdf"' in zone
        workbook = browser_like.get("/dashboard/zones/lighting-provincial/dossier.xlsx")
        assert workbook.status_code == 200, workbook.text[:300]
        assert workbook.headers["content-type"].startswith("application/vnd.openxml")
        assert "dossier-lighting-provincial" in workbook.headers["content-disposition"]
        missing = browser_like.get("/dashboard/zones/none-such/dossier.xlsx")
        assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
        # an enterprise that does not exist: said so, and no empty batches table
        nobody = browser_like.get(f"/dashboard/enterprises/{new_uscc()}")
        assert nobody.status_code == 404, nobody.status_code
        assert 'id="batches"' not in nobody.text
