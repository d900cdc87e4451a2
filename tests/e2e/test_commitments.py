"""Integrity commitments (质量诚信承诺书) that cannot be gamed (#17), through the gateway: an
enterprise signs its zone's commitment, signing again supersedes it (history kept, no second
credit fact), only the zone office countersigns and only then does credit count it, from the
countersigning agency; a breach names its severity and evidence. Non-members and revoked
zones are refused with the rule named."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem, client_for, enterprise_body, new_uscc, wait_until

ZONE = "furniture-provincial"
RW = ["registry:read", "registry:write", "credit:read"]


def _body(
    zone: str, text: str = "本企业郑重承诺：诚信守法，确保出口产品质量安全。"
) -> dict[str, Any]:
    return {
        "zone_code": zone,
        "signatory": "王伟",
        "signed_on": "2026-11-01",
        "text_version": "2017-v1",
        "text": text,
    }


def _member(admin: httpx.Client, zone: str = ZONE, *, admit: bool = True) -> str:
    uscc = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(uscc)).raise_for_status()
    applied = admin.post(f"/v1/zones/{zone}/applications", json={"uscc": uscc})
    assert applied.status_code == 201, applied.text
    if admit:
        decided = admin.post(
            f"/v1/memberships/{applied.json()['id']}/decision", json={"decision": "admit"}
        )
        assert decided.status_code == 200, decided.text
    return uscc


def _facts(admin: httpx.Client, uscc: str, kind: str) -> list[dict[str, Any]]:
    page = admin.get("/v1/credit/facts", params={"uscc": uscc, "kind": kind}).json()
    return page["items"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def member(admin: httpx.Client) -> str:
    return _member(admin)


def test_signing_twice_supersedes_and_credit_counts_one_countersigned_commitment(
    admin: httpx.Client, gateway_url: str, member: str
) -> None:
    with client_for(admin, gateway_url, RW, uscc=member) as firm:
        first = firm.post(f"/v1/enterprises/{member}/commitments", json=_body(ZONE))
        assert first.status_code == 201, first.text
        assert (first.json()["status"], first.json()["version"]) == ("signed", 1)
        # the enterprise cannot countersign its own commitment
        assert_problem(
            firm.post(f"/v1/enterprises/{member}/commitments/{first.json()['id']}/countersign"),
            403,
            "forbidden",
        )
        countersigned = admin.post(
            f"/v1/enterprises/{member}/commitments/{first.json()['id']}/countersign"
        )
        assert countersigned.status_code == 200, countersigned.text
        assert countersigned.json()["status"] == "countersigned"
        assert countersigned.json()["countersigned_at"] is not None
        (fact,) = wait_until(
            lambda: _facts(admin, member, "commitment_signed"), what="the commitment fact"
        )
        assert fact["source_agency"] == "commerce"

        # signing again (five times, as the audit did) supersedes; the zone keeps one in force
        for n in range(4):
            again = firm.post(f"/v1/enterprises/{member}/commitments", json=_body(ZONE, f"v{n}"))
            assert again.status_code == 201, again.text
            assert again.json()["version"] == n + 2
        latest = again.json()
        assert latest["supersedes_id"] is not None
        assert (
            admin.post(
                f"/v1/enterprises/{member}/commitments/{latest['id']}/countersign"
            ).status_code
            == 200
        )
        history = firm.get(f"/v1/enterprises/{member}/commitments").json()["items"]
    assert sorted((c["version"], c["status"]) for c in history) == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "superseded"),
        (4, "superseded"),
        (5, "countersigned"),
    ]
    # a breach (a later event on the same stream) shows credit has seen the countersignature
    breach = admin.post(
        f"/v1/enterprises/{member}/commitments/{latest['id']}/breach",
        json={"severity": "general", "evidence": "宁商罚〔2026〕3号", "reason": "隐瞒抽检不合格"},
    )
    assert breach.status_code == 200, breach.text
    assert (breach.json()["breach_severity"], breach.json()["breach_evidence"]) == (
        "general",
        "宁商罚〔2026〕3号",
    )
    (breached,) = wait_until(
        lambda: _facts(admin, member, "commitment_breached"), what="the breach fact"
    )
    assert (breached["severity"], breached["evidence_ref"]) == ("general", "宁商罚〔2026〕3号")
    assert len(_facts(admin, member, "commitment_signed")) == 1


def test_an_uncountersigned_commitment_is_no_credit_fact(admin: httpx.Client) -> None:
    uscc = _member(admin)
    signed = admin.post(f"/v1/enterprises/{uscc}/commitments", json=_body(ZONE))
    assert signed.status_code == 201, signed.text
    # its breach, a later event on the same stream, arrives; no commitment fact came before
    breach = admin.post(
        f"/v1/enterprises/{uscc}/commitments/{signed.json()['id']}/breach",
        json={"severity": "serious", "evidence": "task 42", "reason": "虚报"},
    )
    assert breach.status_code == 200, breach.text
    (fact,) = wait_until(lambda: _facts(admin, uscc, "commitment_breached"), what="the breach")
    assert fact["severity"] == "serious"
    assert _facts(admin, uscc, "commitment_signed") == []


def test_a_breach_must_name_its_severity_and_evidence(admin: httpx.Client) -> None:
    uscc = _member(admin)
    cid = admin.post(f"/v1/enterprises/{uscc}/commitments", json=_body(ZONE)).json()["id"]
    for body in ({"reason": "x"}, {"reason": "x", "severity": "serious"}):
        assert_problem(
            admin.post(f"/v1/enterprises/{uscc}/commitments/{cid}/breach", json=body),
            422,
            "validation",
        )


def test_a_non_member_or_a_revoked_zone_cannot_sign(admin: httpx.Client) -> None:
    outsider = new_uscc()
    admin.post("/v1/enterprises", json=enterprise_body(outsider)).raise_for_status()
    refused = admin.post(f"/v1/enterprises/{outsider}/commitments", json=_body(ZONE))
    assert assert_problem(refused, 409, "conflict")["rule"] == "applicant_or_member"

    code = f"commit-{uuid.uuid4().hex[:8]}"
    created = admin.post(
        "/v1/zones",
        json={
            "code": code,
            "name_zh": "承诺测试示范区",
            "name_en": "Commitment test zone",
            "industry": "furniture",
            "level": "provincial",
        },
    )
    assert created.status_code == 201, created.text
    applicant = _member(admin, code, admit=False)
    assert (
        admin.post(f"/v1/enterprises/{applicant}/commitments", json=_body(code)).status_code == 201
    )
    revoked = admin.post(f"/v1/zones/{code}/transitions", json={"to": "revoked", "reason": "撤销"})
    assert revoked.status_code == 201, revoked.text
    refused = admin.post(f"/v1/enterprises/{applicant}/commitments", json=_body(code))
    assert assert_problem(refused, 409, "conflict")["rule"] == "zone_revoked"


def test_only_the_zone_office_countersigns(admin: httpx.Client, gateway_url: str) -> None:
    uscc = _member(admin)
    cid = admin.post(f"/v1/enterprises/{uscc}/commitments", json=_body(ZONE)).json()["id"]
    with client_for(admin, gateway_url, RW, agency="ciq") as ciq:
        assert_problem(
            ciq.post(f"/v1/enterprises/{uscc}/commitments/{cid}/countersign"), 403, "forbidden"
        )
    with client_for(admin, gateway_url, RW, agency="commerce") as office:
        done = office.post(f"/v1/enterprises/{uscc}/commitments/{cid}/countersign")
        assert done.status_code == 200, done.text
        assert done.json()["countersigning_agency"] == "commerce"
        assert_problem(
            office.post(f"/v1/enterprises/{uscc}/commitments/{cid}/countersign"),
            409,
            "illegal-transition",
        )
